import { alertIdFor } from '../../lib/alert';
import { guestInvitationRule } from '../../lib/detectionRule';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  deliveryRows,
  detectorInstance,
  invitationMessages,
  newDeploymentTables,
  once,
  requestsTo,
  TEAMS_PATH,
  WEBHOOK_PATH,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');
const MINUTE = 60_000;

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe("each destination's share of a redelivery pass", () => {
  it("delivers a pending webhook alert in the next pass while Teams is down with more due alerts than a pass takes, and still gives up Teams' old alerts", async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('share', 12, at);
    // The outbox is scanned in alert id order; the alert whose webhook delivery waits comes
    // last, behind every Teams row, where a single pass-wide limit never reaches it.
    const last = [...batch.auditIds].sort((a, b) =>
      alertIdFor(guestInvitationRule.id, a).localeCompare(alertIdFor(guestInvitationRule.id, b)),
    )[11]!;
    receiver.setBehaviour((message) => {
      if (message.path === TEAMS_PATH) {
        return { kind: 'fail', status: 503 };
      }

      return message.auditIds.includes(last) ? { kind: 'fail', status: 500 } : { kind: 'accept' };
    });
    let clock = at.getTime();
    const instance = detectorInstance(
      tables,
      receiver,
      {
        ALERT_MAX_AGE_HOURS: '1',
        CIRCUIT_BREAKER_FAILURES: '2',
        CIRCUIT_BREAKER_COOLDOWN_SECONDS: '3600',
      },
      { now: () => new Date(clock), redeliveryQuota: 5 },
    );
    const ordered = [
      ...batch.messages.filter((_, index) => batch.auditIds[index] !== last),
      batch.messages[batch.auditIds.indexOf(last)],
    ];
    await batchHandlerFor(instance)(ordered, batchContext({ logs: [], messages: 12 }));
    expect(receiver.acknowledged(WEBHOOK_PATH).size).toBe(11);

    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    clock += 30 * MINUTE;
    expect(await instance.redeliver()).toMatchObject({ due: 6, delivered: 1, failed: 1 });
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));

    // Teams' circuit is open now: its rows are not listed, but those too old are given up.
    const teamsRequests = requestsTo(receiver, TEAMS_PATH);
    clock = at.getTime() + 60 * MINUTE + 1_000;
    const passes = [
      await instance.redeliver(),
      await instance.redeliver(),
      await instance.redeliver(),
    ];

    expect(passes.map((pass) => [pass.expired.length, pass.heldBack])).toEqual([
      [5, ['teams#1']],
      [5, ['teams#1']],
      [2, ['teams#1']],
    ]);
    expect(requestsTo(receiver, TEAMS_PATH)).toBe(teamsRequests);
    const teams = (await deliveryRows(tables)).filter((row) => row.destination === 'teams#1');
    expect(teams.map((row) => row.status)).toEqual(Array.from({ length: 12 }, () => 'dead'));
  });

  it('gives deliveries passed over for a failing destination a backoff that grows with each skip', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('skips', 3, at);
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    let clock = at.getTime();
    const instance = detectorInstance(
      tables,
      receiver,
      {},
      { now: () => new Date(clock), retryDelayMs: (attempts) => attempts * MINUTE },
    );

    await batchHandlerFor(instance)(batch.messages, batchContext({ logs: [], messages: 3 }));
    clock += MINUTE;
    await instance.redeliver();

    // In each pass the first Teams delivery is tried and fails, the others are skipped; a
    // row skipped twice waits two minutes where one skipped once waits one.
    const teams = (await deliveryRows(tables)).filter((row) => row.destination === 'teams#1');
    const skippedTwice = teams.filter((row) => row.skips === 2);
    expect(skippedTwice.length).toBeGreaterThanOrEqual(1);
    for (const row of skippedTwice) {
      expect(row).toMatchObject({
        attempts: 0,
        nextAttemptAt: new Date(clock + 2 * MINUTE).toISOString(),
      });
    }
    for (const row of teams.filter((entry) => entry.skips === 1)) {
      expect(row.nextAttemptAt).toBe(new Date(clock + MINUTE).toISOString());
    }
  });
});
