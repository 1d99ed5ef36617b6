import { Webhook } from 'standardwebhooks';

import type { AllowlistChange } from '../../lib/adminApi/allowlistChange';
import { allowlistChangeNotification } from '../../lib/adminApi/allowlistChangeNotification';
import { createInvitersRuntime } from '../../lib/adminApi/createInvitersRuntime';
import { matchInvitersRoute, routeHandler } from '../../lib/adminApi/invitersRoutes';
import { TEAMS_CARD_BUDGET_BYTES } from '../../lib/alertCard';
import {
  ADMIN,
  entryPath,
  hostRequest,
  parseResponse,
  testContext,
  type LogLine,
  type SendOptions,
  type SentResponse,
} from '../support/adminApiHarness';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';
import {
  startWebhookReceiver,
  type ReceivedRequest,
  type WebhookReceiver,
} from '../support/webhookReceiver';

// Microsoft's Adaptive Cards SDK; its dist bundle parses and validates cards in Node.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is required by path, it has no typings there.
const AdaptiveCards = require('adaptivecards/dist/adaptivecards.js') as {
  AdaptiveCard: new () => {
    parse(json: unknown, context: unknown): void;
    validateProperties(): { validationEvents: { message: string }[] };
  };
  SerializationContext: new () => {
    eventCount: number;
    getEventAt(index: number): { message: string };
  };
};

const SECRET = `whsec_${Buffer.from('local-test-secret-of-32-bytes!!!').toString('base64')}`;
const INVITER = 'alice.morgan@fabrikam.example';
const NOW = new Date('2026-06-01T12:00:00.000Z');

function cardProblems(card: unknown): string[] {
  const parsed = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let index = 0; index < context.eventCount; index += 1) {
    problems.push(context.getEventAt(index).message);
  }

  return [
    ...problems,
    ...parsed.validateProperties().validationEvents.map((event) => event.message),
  ];
}

/** The admin API wired from app settings, as functions/inviters.ts wires it. */
function wiredApi(
  receiver: WebhookReceiver,
  settings: Record<string, string> = {},
): {
  send(method: string, path: string, options?: SendOptions): Promise<SentResponse>;
  logs: LogLine[];
} {
  const receiverUrl = new URL(receiver.url);
  const { api } = createInvitersRuntime(
    {
      TABLES_CONNECTION_STRING: testTablesConnectionString(),
      ALLOWLIST_TABLE: uniqueTableName('allow'),
      ALLOWLIST_AUDIT_TABLE: uniqueTableName('audit'),
      TEAMS_WEBHOOK_URL: `${receiverUrl.origin}/teams?sig=teams-secret`,
      ALERT_WEBHOOK_URL: `${receiverUrl.origin}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      DELIVERY_MAX_ATTEMPTS: '1',
      WEBSITE_SITE_NAME: 'func-gid-test',
      WEBSITE_AUTH_ENABLED: 'True',
      ...settings,
    },
    { now: () => NOW },
  );
  const logs: LogLine[] = [];

  return {
    logs,
    send: async (method, path, options) => {
      const match = matchInvitersRoute(path.split('?')[0] ?? '');
      if (match === undefined) throw new Error(`no route for ${path}`);
      const handler = routeHandler(api, match.route);

      return parseResponse(await handler(hostRequest(method, path, options), testContext(logs)));
    },
  };
}

function byPath(receiver: WebhookReceiver, path: string): ReceivedRequest[] {
  return receiver.requests.filter((request) => request.path.startsWith(path));
}

function sampleChange(overrides: Partial<AllowlistChange> = {}): AllowlistChange {
  return {
    id: '8638200000000000-0a1b2c3d4e5f',
    inviter: INVITER,
    action: 'update',
    before: { inviter: INVITER, allowedDomains: ['partner.example'] },
    after: { inviter: INVITER, allowedDomains: ['partner.example', 'eu.partner.example'] },
    changedBy: ADMIN.name,
    changedByObjectId: ADMIN.objectId,
    changedByAppId: null,
    changedAt: NOW.toISOString(),
    clientIp: '198.51.100.23',
    invocationId: '00000000-0000-4000-8000-000000000001',
    ...overrides,
  };
}

describe('allowlist changes are announced to the alert destinations', () => {
  let receiver: WebhookReceiver;

  afterEach(async () => {
    await receiver.close();
  });

  it('sends a signed JSON notice to the webhook and a card to Teams for each change', async () => {
    receiver = await startWebhookReceiver();
    const api = wiredApi(receiver);

    const created = await api.send('PUT', entryPath(INVITER), {
      json: { allowedDomains: ['partner.example'], note: 'SEC-2211' },
    });

    expect(created.status).toBe(201);
    const [hook] = byPath(receiver, '/hook');
    const [teams] = byPath(receiver, '/teams');
    expect(receiver.requests).toHaveLength(2);
    expect(JSON.parse(hook?.body ?? '')).toEqual({
      type: 'allowlist-change',
      action: 'create',
      inviter: INVITER,
      before: null,
      after: { inviter: INVITER, allowedDomains: ['partner.example'], note: 'SEC-2211' },
      changedBy: ADMIN.name,
      changedAt: NOW.toISOString(),
      clientIp: '198.51.100.23',
    });
    expect(hook?.headers['webhook-id']).toMatch(/^allowlist-change-\d{16}-[0-9a-f]{12}$/);
    expect(() =>
      new Webhook(SECRET).verify(hook?.body ?? '', {
        'webhook-id': String(hook?.headers['webhook-id']),
        'webhook-timestamp': String(hook?.headers['webhook-timestamp']),
        'webhook-signature': String(hook?.headers['webhook-signature']),
      }),
    ).not.toThrow();
    const message = JSON.parse(teams?.body ?? '') as {
      type: string;
      attachments: { contentType: string; content: { body: unknown[] } }[];
    };
    expect(message.type).toBe('message');
    expect(message.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(cardProblems(message.attachments[0]?.content)).toEqual([]);
    expect(JSON.stringify(message.attachments[0]?.content)).toContain(
      'priya.raman@fabrikam.example created the allowlist entry for alice.morgan@fabrikam.example',
    );
  });

  it('still answers the change when a destination fails, and logs it by label without the URL', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(500).end();
    });
    const api = wiredApi(receiver);

    const created = await api.send('PUT', entryPath(INVITER), { json: {} });

    expect(created.status).toBe(201);
    const errors = api.logs.filter((line) => line.level === 'error').map((line) => line.message);
    expect(errors).toEqual([
      expect.stringMatching(/not delivered: Delivery to teams#1 failed after 1 attempt\(s\)/),
      expect.stringMatching(/not delivered: Delivery to webhook#1 failed after 1 attempt\(s\)/),
    ]);
    expect(errors.join('\n')).not.toContain('teams-secret');
    expect(errors.join('\n')).not.toContain('127.0.0.1');
  });

  it('tries a failing destination at most twice, whatever DELIVERY_MAX_ATTEMPTS says', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(503).end();
    });
    const api = wiredApi(receiver, { DELIVERY_MAX_ATTEMPTS: '5', DELIVERY_TIMEOUT_MS: '1000' });

    const created = await api.send('PUT', entryPath(INVITER), { json: {} });

    expect(created.status).toBe(201);
    expect(byPath(receiver, '/hook')).toHaveLength(2);
    expect(byPath(receiver, '/teams')).toHaveLength(2);
  });
});

describe('the allowlist-change card', () => {
  it('escapes what people typed, so a note cannot add links or formatting', () => {
    const change = sampleChange({
      action: 'create',
      before: null,
      after: { inviter: INVITER, note: '**Approved** by [the CISO](https://evil.example/login)' },
    });

    const card = JSON.stringify(allowlistChangeNotification(change).card);

    expect(card).toContain(
      '\\\\*\\\\*Approved\\\\*\\\\* by \\\\[the CISO\\\\](https://evil.example/login)',
    );
    expect(card).not.toContain('[the CISO](');
  });

  it('shows what changed in an update: the new value and what it was', () => {
    const card = allowlistChangeNotification(sampleChange()).card;

    expect(card.body).toContainEqual({
      type: 'FactSet',
      facts: expect.arrayContaining([
        {
          title: 'Allowed domains',
          value: 'partner.example, eu.partner.example (was partner.example)',
        },
        { title: 'Expires', value: 'never' },
        { title: 'Action', value: 'changed' },
      ]),
    });
    expect(cardProblems(card)).toEqual([]);
  });

  it('stays under the Teams size limit with the longest entry the API accepts', () => {
    const longest = {
      inviter: INVITER,
      allowedDomains: Array.from(
        { length: 100 },
        (_, index) => `${'sub'.repeat(20)}${index}.${'partner'.repeat(25)}.example`,
      ),
      note: 'n'.repeat(1000),
    };
    const change = sampleChange({ before: longest, after: { ...longest, note: 'm'.repeat(1000) } });

    const card = allowlistChangeNotification(change).card;

    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
    expect(JSON.stringify(card)).toContain('alice.morgan@fabrikam.example');
    expect(cardProblems(card)).toEqual([]);
  });
});
