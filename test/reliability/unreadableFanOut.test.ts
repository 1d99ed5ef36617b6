import { MAX_DEAD_LETTERS_PER_MESSAGE } from '../../lib/eventHubBatchHandler';
import { eventHubMessage } from '../support/auditStream';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  batchSummaries,
  detectorInstance,
  newDeploymentTables,
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe('a message made of unreadable records', () => {
  it('dead-letters the first hundred of a 1 MB message of empty records one by one and the message whole once, counting every one', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const empties = 333_000;
    const message = JSON.stringify(eventHubMessage(Array.from({ length: empties }, () => ({}))));
    expect(message.length).toBeGreaterThan(999_000);
    const instance = detectorInstance(tables, receiver);
    const logs: LogLine[] = [];

    const started = Date.now();
    await batchHandlerFor(instance)([message, message], batchContext({ logs, messages: 2 }));

    expect(Date.now() - started).toBeLessThan(20_000);
    expect(batchSummaries(logs)[0]).toMatchObject({
      records: 2 * empties,
      unreadable: 2 * empties,
      deadLettered: 2 * (MAX_DEAD_LETTERS_PER_MESSAGE + 1),
      unreadableInMessageDeadLetters: 2 * (empties - MAX_DEAD_LETTERS_PER_MESSAGE),
      storageFailed: false,
    });
    const letters = await instance.deadLetters!.list('record', 1_000);
    expect(letters).toHaveLength(2 * (MAX_DEAD_LETTERS_PER_MESSAGE + 1));
    const whole = letters.filter((letter) => !letter.where.includes('record'));
    expect(whole.map((letter) => letter.where).sort()).toEqual([
      'message 0 (sequence 1000)',
      'message 1 (sequence 1001)',
    ]);
    for (const letter of whole) {
      expect(letter).toMatchObject({
        reason: `${empties} unreadable records in this message; the first 100 are dead-lettered one by one, and this is the whole message`,
        rawBytes: message.length,
        rawTruncated: true,
      });
    }
    expect(logs.filter((line) => line.level === 'warning').map((line) => line.text)).toContain(
      `${empties} unreadable audit records in message 1 (sequence 1001): the first 100 are dead-lettered one by one, the rest with the whole message`,
    );
  });

  it('dead-letters a redelivered message to the same rows', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const message = eventHubMessage(Array.from({ length: 150 }, () => 42));
    const instance = detectorInstance(tables, receiver);

    await batchHandlerFor(instance)([message], batchContext({ logs: [], messages: 1 }));
    await batchHandlerFor(instance)([message], batchContext({ logs: [], messages: 1 }));

    expect(await instance.deadLetters!.list('record', 1_000)).toHaveLength(101);
  });
});
