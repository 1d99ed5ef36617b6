import { TeamsRateLimiter } from '../../lib/teamsRateLimiter';
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
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Throttles the first request to Teams as given, and accepts everything else. */
function throttleFirstTeamsRequest(retryAfter: string): void {
  let throttled = false;
  receiver.setBehaviour((message) => {
    if (message.path === TEAMS_PATH && !throttled) {
      throttled = true;

      return { kind: 'throttle', retryAfter };
    }

    return { kind: 'accept' };
  });
}

describe('a Teams webhook that asks to wait a long time', () => {
  it('holds no batch for minutes after a 429 with Retry-After: 600, and gets each alert exactly once later', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const first = invitationMessages('wait-600-a', 1, at);
    const second = invitationMessages('wait-600-b', 1, at, 700);
    throttleFirstTeamsRequest('600');
    let clock = at.getTime();
    const now = () => new Date(clock);
    const instance = detectorInstance(tables, receiver, {}, { now });
    const handler = batchHandlerFor(instance);
    const logs: LogLine[] = [];

    const started = Date.now();
    await handler(first.messages, batchContext({ logs, messages: 1, firstSequence: 1 }));
    await handler(second.messages, batchContext({ logs, messages: 1, firstSequence: 2 }));

    // Each batch ends at once: the webhook pause is cut to 10 s on this instance, and a lane
    // that would wait longer for its slot gives its rows back instead of sleeping.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(requestsTo(receiver, TEAMS_PATH)).toBe(1);
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(
      once([...first.auditIds, ...second.auditIds]),
    );
    const teams = (await deliveryRows(tables)).filter((row) => row.destination === 'teams#1');
    const throttled = teams.find((row) => row.attempts === 1)!;
    const paced = teams.find((row) => row.attempts === 0)!;
    expect(throttled.lastError).toBe(
      'Delivery to teams#1 failed after 1 attempt(s): throttled (429); it asked to wait 600 s',
    );
    expect(throttled.nextAttemptAt).toBe(new Date(clock + 600_000).toISOString());
    // Given back untried, without a failure, due when the pause ends.
    expect(paced).toMatchObject({ status: 'pending', lastError: '', leasedUntil: '' });
    expect(Date.parse(paced.nextAttemptAt)).toBeGreaterThan(clock);
    expect(Date.parse(paced.nextAttemptAt)).toBeLessThanOrEqual(clock + 10_000);
    // This instance does not even list Teams rows while the webhook is paused.
    expect(await instance.redeliver()).toMatchObject({ due: 0, heldBack: ['teams#1'] });

    // The timer runs on another instance, as it may in Azure.
    const timer = detectorInstance(tables, receiver, {}, { now });
    clock += 11_000;
    expect(await timer.redeliver()).toMatchObject({ due: 1, delivered: 1 });
    clock += 600_000;
    expect(await timer.redeliver()).toMatchObject({ due: 1, delivered: 1 });
    expect(await timer.redeliver()).toMatchObject({ due: 0 });

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(
      once([...first.auditIds, ...second.auditIds]),
    );
  });

  it('parks a delivery no later than its expiry when Retry-After is a 400-digit number, and records it as a plain failure', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('wait-forever', 1, at);
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    let clock = at.getTime();
    const instance = detectorInstance(
      tables,
      receiver,
      { ALERT_MAX_AGE_HOURS: '1' },
      { now: () => new Date(clock) },
    );
    const logs: LogLine[] = [];
    await batchHandlerFor(instance)(batch.messages, batchContext({ logs, messages: 1 }));

    clock += 50 * 60_000;
    throttleFirstTeamsRequest('9'.repeat(400));
    const report = await instance.redeliver();

    expect(report).toMatchObject({ due: 1, failed: 1, storageErrors: [] });
    const [row] = (await deliveryRows(tables)).filter((entry) => entry.destination === 'teams#1');
    expect(row).toMatchObject({ status: 'pending', attempts: 2, leasedUntil: '' });
    // A week is the most a Retry-After is read as, 30 min the most the outbox honours, and
    // no row waits past its expiry: pending since `at`, ALERT_MAX_AGE_HOURS=1.
    expect(row!.nextAttemptAt).toBe(new Date(at.getTime() + 3_600_000).toISOString());
    expect(row!.lastError).toBe(
      'Delivery to teams#1 failed after 1 attempt(s): throttled (429); it asked to wait 604800 s',
    );

    clock = at.getTime() + 3_600_000 + 1;
    expect((await instance.redeliver()).expired).toMatchObject([{ destination: 'teams#1' }]);
    expect(receiver.acknowledged(TEAMS_PATH).size).toBe(0);
  });
});

describe('the Teams rate limiter under a long pause', () => {
  function limiterAt(clock: { now: number }, waits: number[]) {
    return new TeamsRateLimiter({
      requestsPerSecond: 4,
      maxPauseMs: 60_000,
      clock: () => clock.now,
      sleep: (ms) => {
        waits.push(ms);

        return Promise.resolve();
      },
    });
  }

  it('holds a webhook back for at most maxPauseMs, whatever it is asked', async () => {
    const clock = { now: 0 };
    const waits: number[] = [];
    const limiter = limiterAt(clock, waits);

    limiter.pause('a', 600_000);
    limiter.pause('b', Number.POSITIVE_INFINITY);
    limiter.pause('c', Number.NaN);
    await limiter.acquire('a');

    expect(waits).toEqual([60_000]);
    expect(limiter.waitMs('b')).toBe(60_000);
    expect(limiter.waitMs('c')).toBe(60_000);
  });

  it('turns away a caller that cannot wait that long, without taking its slot', async () => {
    const clock = { now: 0 };
    const waits: number[] = [];
    const limiter = limiterAt(clock, waits);
    limiter.pause('a', 10_000);

    expect(await limiter.acquireWithin('a', 5_000)).toBe(false);
    expect(limiter.waitMs('a')).toBe(10_000);
    clock.now = 6_000;
    expect(await limiter.acquireWithin('a', 5_000)).toBe(true);
    expect(waits).toEqual([4_000]);
    expect(limiter.waitMs('a')).toBe(4_250);
  });
});
