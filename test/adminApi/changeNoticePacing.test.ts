import type { AllowlistChange } from '../../lib/adminApi/allowlistChange';
import { DestinationChangeNotifier } from '../../lib/adminApi/allowlistChangeNotifier';
import { DEFAULT_DELIVERY_OPTIONS } from '../../lib/deliverNotification';
import { parseDestinations } from '../../lib/destination';
import { TeamsRateLimiter } from '../../lib/teamsRateLimiter';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const INVITER = 'alice.morgan@fabrikam.example';

function change(id: string): AllowlistChange {
  return {
    id,
    inviter: INVITER,
    action: 'create',
    before: null,
    after: { inviter: INVITER, allowedDomains: ['partner.example'] },
    changedBy: 'priya.raman@fabrikam.example',
    changedByObjectId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
    changedByAppId: null,
    changedAt: '2026-06-01T12:00:00.000Z',
    clientIp: '198.51.100.23',
    invocationId: '00000000-0000-4000-8000-000000000001',
  };
}

describe('allowlist-change notices and Teams pacing', () => {
  let receiver: WebhookReceiver;

  afterEach(async () => {
    await receiver.close();
  });

  it('take their turn in the Teams pacing that alerts use, and only for Teams', async () => {
    receiver = await startWebhookReceiver();
    const origin = new URL(receiver.url).origin;
    const destinations = [
      ...parseDestinations('TEAMS_WEBHOOK_URL', `${origin}/teams`, 'teams'),
      ...parseDestinations('ALERT_WEBHOOK_URL', `${origin}/hook`, 'webhook'),
    ];
    const limiter = new TeamsRateLimiter({ requestsPerSecond: 4 });
    const turns: string[] = [];
    const acquire = limiter.acquire.bind(limiter);
    limiter.acquire = (key: string) => {
      turns.push(new URL(key).pathname);

      return acquire(key);
    };
    const notifier = new DestinationChangeNotifier(destinations, DEFAULT_DELIVERY_OPTIONS, limiter);

    const outcomes = await Promise.all([
      notifier.announce(change('1')),
      notifier.announce(change('2')),
    ]);

    expect(outcomes).toEqual([
      { undelivered: [], failures: [] },
      { undelivered: [], failures: [] },
    ]);
    expect(turns).toEqual(['/teams', '/teams']);
    expect(receiver.requests.map((request) => request.path).sort()).toEqual([
      '/hook',
      '/hook',
      '/teams',
      '/teams',
    ]);
  });
});
