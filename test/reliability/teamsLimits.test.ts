import { buildAlert, type Alert } from '../../lib/alert';
import { TEAMS_CARD_BUDGET_BYTES } from '../../lib/alertCard';
import { renderAlertDigests } from '../../lib/alertDigestCard';
import { DirectAlertSink } from '../../lib/alertSink';
import { DEFAULT_DELIVERY_OPTIONS, teamsMessageBody } from '../../lib/deliverNotification';
import { parseDestinations } from '../../lib/destination';
import { findGuestInvitation } from '../../lib/guestInvitation';
import { normalizeAuditRecord } from '../../lib/normalizeAuditRecord';
import { TeamsRateLimiter } from '../../lib/teamsRateLimiter';
import { eventHubMessage, invitationRecord, inviterNumber } from '../support/auditStream';
import { auditIdsIn, startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  detectorInstance,
  newDeploymentTables,
  once,
  TEAMS_PATH,
  WEBHOOK_PATH,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

function burst(prefix: string, count: number): { messages: unknown[]; auditIds: string[] } {
  const records = Array.from(
    { length: count },
    (_, index) =>
      invitationRecord(`${prefix}-${index}`, inviterNumber(300 + index), at) as {
        properties: { id: string };
      },
  );

  return {
    messages: [eventHubMessage(records)],
    auditIds: records.map((record) => record.properties.id),
  };
}

function alertFor(record: unknown): Alert {
  const outcome = normalizeAuditRecord(record);
  const invitation = outcome.kind === 'audit' ? findGuestInvitation(outcome.record) : undefined;
  if (invitation === undefined) {
    throw new Error('the record is not an invitation');
  }

  return buildAlert(invitation, 'not-approved', at);
}

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe('Teams limits', () => {
  it('spaces a few alerts for one Teams webhook at the configured rate', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = burst('spaced', 5);

    await batchHandlerFor(
      detectorInstance(tables, receiver, { TEAMS_MAX_REQUESTS_PER_SECOND: '3' }),
    )(messages, batchContext({ logs: [], messages: 1 }));

    const arrivals = receiver.messages
      .filter((message) => message.path === TEAMS_PATH)
      .map((message) => message.at);
    expect(arrivals).toHaveLength(5);
    // Sent 334 ms apart; on arrival the gaps jitter (the first request also opens the
    // connection), so a window can catch a fourth: still within Teams' 4 per second, which
    // pacing at exactly 4 would not be.
    const busiestSecond = Math.max(
      ...arrivals.map((start) => arrivals.filter((t) => t >= start && t < start + 1000).length),
    );
    expect(busiestSecond).toBeLessThanOrEqual(4);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(4 * 334 - 60);
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
  });

  it('sends a burst above the digest threshold as digest cards within the size limit, and each alert to the webhook', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = burst('digest', 60);

    await batchHandlerFor(detectorInstance(tables, receiver, { TEAMS_DIGEST_THRESHOLD: '5' }))(
      messages,
      batchContext({ logs: [], messages: 1 }),
    );

    const teams = receiver.messages.filter((message) => message.path === TEAMS_PATH);
    expect(teams.length).toBeGreaterThanOrEqual(2);
    expect(teams.length).toBeLessThanOrEqual(4);
    for (const message of teams) {
      expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(28 * 1024);
    }
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
    expect(receiver.messages.filter((message) => message.path === WEBHOOK_PATH)).toHaveLength(60);
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(auditIds));
  });
});

describe('sending without the outbox', () => {
  it('paces a Teams webhook too when the direct sink has a rate limiter', async () => {
    const alerts = [0, 1, 2, 3].map((index) =>
      alertFor(invitationRecord(`direct-${index}`, inviterNumber(index), at)),
    );
    const sink = new DirectAlertSink(
      parseDestinations('TEAMS_WEBHOOK_URL', receiver.url(TEAMS_PATH), 'teams'),
      { ...DEFAULT_DELIVERY_OPTIONS, timeoutMs: 1_000 },
      new TeamsRateLimiter({ requestsPerSecond: 4 }),
    );

    const report = await sink.send(alerts);

    expect(report).toMatchObject({ delivered: 4, failed: 0 });
    const arrivals = receiver.messages.map((message) => message.at);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(3 * 250 - 60);
  });
});

describe('digest cards', () => {
  it('list every alert once, in order, each card under the Teams budget even with long hostile names', () => {
    const alerts = Array.from({ length: 250 }, (_, index) => {
      const alert = alertFor(invitationRecord(`card-${index}`, inviterNumber(index), at));

      return {
        ...alert,
        inviter: {
          ...alert.inviter,
          userPrincipalName: `[click me](https://evil.example/${index}) **urgent** ${'x'.repeat(5_000)}`,
        },
      };
    });

    const digests = renderAlertDigests(alerts);

    expect(digests.flatMap((digest) => digest.alertIds)).toEqual(
      alerts.map((alert) => alert.alertId),
    );
    for (const digest of digests) {
      const body = JSON.stringify(teamsMessageBody(digest.notification));
      expect(Buffer.byteLength(JSON.stringify(digest.notification.card))).toBeLessThanOrEqual(
        TEAMS_CARD_BUDGET_BYTES,
      );
      expect(Buffer.byteLength(body)).toBeLessThan(28 * 1024);
      expect(body).not.toContain('[click me](https');
      expect(body).not.toContain('**urgent**');
      expect(auditIdsIn(body)).toEqual(
        digest.alertIds.map((id) => alerts.find((alert) => alert.alertId === id)!.auditId),
      );
    }
  });

  it('give the same digest the same id, so a receiver can recognise a resend', () => {
    const alerts = [0, 1, 2].map((index) =>
      alertFor(invitationRecord(`same-${index}`, inviterNumber(index), at)),
    );

    expect(renderAlertDigests(alerts)[0]!.notification.id).toBe(
      renderAlertDigests(alerts)[0]!.notification.id,
    );
    expect(renderAlertDigests(alerts)[0]!.notification.id).toMatch(/^digest-[0-9a-f]{32}$/);
  });
});

describe('the Teams rate limiter', () => {
  it('hands out one slot per interval per webhook, and holds a webhook back after a throttle', async () => {
    let clock = 0;
    const waits: number[] = [];
    const limiter = new TeamsRateLimiter({
      requestsPerSecond: 4,
      clock: () => clock,
      sleep: (ms) => {
        waits.push(ms);

        return Promise.resolve();
      },
    });

    await Promise.all([limiter.acquire('a'), limiter.acquire('a'), limiter.acquire('a')]);
    await limiter.acquire('b');
    limiter.pause('a', 5_000);
    clock = 100;
    await limiter.acquire('a');

    expect(waits).toEqual([250, 500, 4_900]);
  });
});
