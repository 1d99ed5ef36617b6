import { DELIVERY_BUDGET_MS } from '../../lib/deliveryBudget';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  batchSummaries,
  deliveryRows,
  detectorInstance,
  invitationMessages,
  newDeploymentTables,
  once,
  WEBHOOK_PATH,
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');
const MINUTE = 60_000;

let receiver: FlakyReceiver;
afterEach(async () => {
  await receiver.close();
});

describe('the time budget of one invocation', () => {
  it('starts no delivery after five minutes and leaves the rest pending for the timer, which sends each once', async () => {
    expect(DELIVERY_BUDGET_MS).toBe(5 * MINUTE);
    let clock = at.getTime();
    // A receiver slow enough that each delivery takes two minutes of the invocation.
    receiver = await startFlakyReceiver(() => {
      clock += 2 * MINUTE;

      return { kind: 'accept' };
    });
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('budget', 5, at);
    const instance = detectorInstance(
      tables,
      receiver,
      { TEAMS_WEBHOOK_URL: '' },
      { now: () => new Date(clock) },
    );
    const logs: LogLine[] = [];

    await batchHandlerFor(instance)(batch.messages, batchContext({ logs, messages: 5 }));

    // Started at 0, 2 and 4 minutes; at 6 minutes no more.
    expect(batchSummaries(logs)[0]).toMatchObject({
      delivered: 3,
      deliveryFailures: 0,
      pendingInOutbox: 2,
    });
    const pending = (await deliveryRows(tables)).filter((row) => row.status === 'pending');
    expect(pending).toHaveLength(2);
    for (const row of pending) {
      expect(row).toMatchObject({
        attempts: 0,
        lastError: '',
        leasedUntil: '',
        nextAttemptAt: new Date(at.getTime() + 6 * MINUTE).toISOString(),
      });
    }

    expect(await instance.redeliver()).toMatchObject({ due: 2, delivered: 2, postponed: 0 });
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
  });
});
