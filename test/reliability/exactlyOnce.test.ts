import {
  eventHubMessage,
  invitationRecord,
  inviterNumber,
  signInRecord,
} from '../support/auditStream';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  APPROVED_INVITERS,
  batchContext,
  batchHandlerFor,
  batchSummaries,
  detectorInstance,
  newDeploymentTables,
  once,
  TEAMS_PATH,
  WEBHOOK_PATH,
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

/** Three messages: 12 invitations (9 by unapproved inviters) among as many sign-ins. */
function sampleBatch(): { messages: unknown[]; expected: string[] } {
  const expected: string[] = [];
  const messages = [0, 1, 2].map((message) => {
    const records: unknown[] = [];
    for (let index = 0; index < 4; index += 1) {
      const key = `once-${message}-${index}`;
      const approved = index === 0;
      const inviter = approved ? APPROVED_INVITERS[index]! : inviterNumber(100 + index);
      const record = invitationRecord(key, inviter, at) as { properties: { id: string } };
      records.push(record, signInRecord(key, at));
      if (!approved) {
        expected.push(record.properties.id);
      }
    }

    return eventHubMessage(records);
  });

  return { messages, expected };
}

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe('exactly one alert per invitation', () => {
  it('sends each alert once when the same batch is delivered five times, on one instance and on others', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, expected } = sampleBatch();
    const logs: LogLine[] = [];
    const first = detectorInstance(tables, receiver);
    const instances = [
      first,
      first,
      first,
      detectorInstance(tables, receiver),
      detectorInstance(tables, receiver),
    ];

    for (const instance of instances) {
      await batchHandlerFor(instance)(messages, batchContext({ logs, messages: messages.length }));
    }

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(expected));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(expected));
    const summaries = batchSummaries(logs);
    expect(summaries.map((summary) => summary.delivered)).toEqual([18, 0, 0, 0, 0]);
    expect(summaries.map((summary) => summary.duplicatesSuppressed)).toEqual([0, 9, 9, 9, 9]);
  });

  it('sends each alert once when five instances handle the same batch at the same time', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, expected } = sampleBatch();
    const logs: LogLine[] = [];

    await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        batchHandlerFor(detectorInstance(tables, receiver))(
          messages,
          batchContext({ logs, messages: messages.length, invocationId: `concurrent-${index}` }),
        ),
      ),
    );

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(expected));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(expected));
    const summaries = batchSummaries(logs);
    expect(summaries.reduce((sum, summary) => sum + Number(summary.delivered), 0)).toBe(18);
    expect(summaries.reduce((sum, summary) => sum + Number(summary.duplicatesSuppressed), 0)).toBe(
      4 * expected.length,
    );
  });

  it('sends a record that appears twice in one batch once', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, expected } = sampleBatch();
    const logs: LogLine[] = [];
    const doubled = [...messages, messages[0], JSON.stringify(messages[1])];

    await batchHandlerFor(detectorInstance(tables, receiver))(
      doubled,
      batchContext({ logs, messages: doubled.length }),
    );

    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(expected));
    expect(batchSummaries(logs)[0]).toMatchObject({ alerts: 9, delivered: 18 });
  });

  it('sends redelivered alerts once more only to a destination that had not acknowledged them', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, expected } = sampleBatch();
    const logs: LogLine[] = [];
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver);

    await batchHandlerFor(instance)(messages, batchContext({ logs, messages: messages.length }));
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    await batchHandlerFor(instance)(messages, batchContext({ logs, messages: messages.length }));
    const redelivery = await instance.redeliver();

    expect(redelivery).toMatchObject({ due: 9, taken: 9, delivered: 9, failed: 0 });
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(expected));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(expected));
  });
});
