import { TableClient } from '@azure/data-tables';
import { InvocationContext, type Timer } from '@azure/functions';

import { createRedeliveryHandler } from '../../lib/redeliveryTimerHandler';
import { eventHubMessage, invitationRecord, inviterNumber } from '../support/auditStream';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  batchSummaries,
  detectorInstance,
  newDeploymentTables,
  once,
  TEAMS_PATH,
  WEBHOOK_PATH,
  type DeploymentTables,
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

/** `count` invitations by unapproved inviters, one per message; their audit ids. */
function invitations(prefix: string, count: number): { messages: unknown[]; auditIds: string[] } {
  const records = Array.from(
    { length: count },
    (_, index) =>
      invitationRecord(`${prefix}-${index}`, inviterNumber(200 + index), at) as {
        properties: { id: string };
      },
  );

  return {
    messages: records.map((record) => eventHubMessage([record])),
    auditIds: records.map((record) => record.properties.id),
  };
}

function requestsTo(receiver: FlakyReceiver, path: string): number {
  return receiver.messages.filter((message) => message.path === path).length;
}

interface StoredDelivery {
  destination: string;
  status: string;
  attempts: number;
  lastError: string;
  nextAttemptAt: string;
}

async function deliveryRows(tables: DeploymentTables): Promise<StoredDelivery[]> {
  const client = TableClient.fromConnectionString(tables.connectionString, tables.outboxTable, {
    allowInsecureConnection: true,
  });
  const rows: StoredDelivery[] = [];
  for await (const entity of client.listEntities<StoredDelivery & { kind: string }>()) {
    if (entity.kind === 'delivery') {
      rows.push(entity);
    }
  }

  return rows;
}

function timerContext(logs: LogLine[]): InvocationContext {
  return new InvocationContext({
    invocationId: 'timer-1',
    functionName: 'redeliverAlerts',
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
  });
}

const tick: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: {} as never,
};

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe('a destination that fails', () => {
  it('keeps its alerts pending while the other destination gets them, and delivers them when it recovers', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = invitations('down', 3);
    const logs: LogLine[] = [];
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 500 } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver);

    await batchHandlerFor(instance)(messages, batchContext({ logs, messages: messages.length }));

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
    expect(receiver.acknowledged(WEBHOOK_PATH).size).toBe(0);
    // The lane stops at the first failure: one alert tried (twice), the other two wait.
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(2);
    const pending = (await deliveryRows(tables)).filter((row) => row.status === 'pending');
    expect(pending).toHaveLength(3);
    expect(pending.every((row) => row.destination === 'webhook#1')).toBe(true);
    expect(pending.map((row) => row.lastError).sort()).toEqual([
      '',
      '',
      'Delivery to webhook#1 failed after 2 attempt(s): the destination answered HTTP 500',
    ]);
    expect(JSON.stringify(logs)).not.toContain('127.0.0.1');
    expect(batchSummaries(logs)[0]).toMatchObject({ delivered: 3, pendingInOutbox: 3 });

    receiver.setBehaviour(() => ({ kind: 'accept' }));
    const timerLogs: LogLine[] = [];
    await createRedeliveryHandler(instance)(tick, timerContext(timerLogs));

    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(auditIds));
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
    expect((await deliveryRows(tables)).every((row) => row.status === 'delivered')).toBe(true);
    expect(JSON.parse(timerLogs.at(-1)!.text)).toMatchObject({
      event: 'redelivery',
      due: 3,
      delivered: 3,
      failed: 0,
    });
  });

  it('gives up on a hanging destination after its timeout, without holding up the other', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = invitations('hang', 4);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'hang' } : { kind: 'accept' },
    );
    const logs: LogLine[] = [];
    const started = Date.now();

    await batchHandlerFor(detectorInstance(tables, receiver))(
      messages,
      batchContext({ logs, messages: messages.length }),
    );

    // Two attempts of 300 ms for the first alert; the other three are not tried.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(2);
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
    expect(logs.filter((line) => line.level === 'error').map((line) => line.text)).toEqual([
      'Alert delivery failed: Delivery to webhook#1 failed after 2 attempt(s): no answer within 300 ms',
    ]);
  });

  it('skips a destination whose circuit opened after repeated failures, until the cooldown ends', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    let clock = at.getTime();
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    const instance = detectorInstance(
      tables,
      receiver,
      { CIRCUIT_BREAKER_FAILURES: '2', CIRCUIT_BREAKER_COOLDOWN_SECONDS: '60' },
      { now: () => new Date(clock) },
    );
    const handler = batchHandlerFor(instance);
    const logs: LogLine[] = [];

    for (let batch = 0; batch < 4; batch += 1) {
      const { messages } = invitations(`breaker-${batch}`, 2);
      await handler(messages, batchContext({ logs, messages: 2, firstSequence: 100 * batch }));
    }

    // Two failed batches open the circuit; the next two make no request at all.
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(4);
    expect(requestsTo(receiver, TEAMS_PATH)).toBe(8);
    const pending = (await deliveryRows(tables)).filter((row) => row.status === 'pending');
    expect(pending).toHaveLength(8);
    // What the open circuit turned away waits for the end of the cooldown.
    const reopening = new Date(clock + 60_000).toISOString();
    expect(pending.filter((row) => row.nextAttemptAt >= reopening)).toHaveLength(5);

    receiver.setBehaviour(() => ({ kind: 'accept' }));
    // While the circuit is open this instance does not even list the webhook's rows.
    expect(await instance.redeliver()).toMatchObject({
      due: 0,
      delivered: 0,
      heldBack: ['webhook#1'],
    });
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(4);

    clock += 61_000;
    const report = await instance.redeliver();

    expect(report).toMatchObject({ due: 8, delivered: 8, failed: 0 });
    expect(receiver.acknowledged(WEBHOOK_PATH).size).toBe(8);
  });

  it('waits as long as a 429 with Retry-After asks before trying again', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = invitations('throttled', 1);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH
        ? { kind: 'throttle', retryAfterSeconds: 120 }
        : { kind: 'accept' },
    );
    let clock = at.getTime();
    const instance = detectorInstance(tables, receiver, {}, { now: () => new Date(clock) });

    await batchHandlerFor(instance)(messages, batchContext({ logs: [], messages: 1 }));

    // Retry-After beyond what the handler waits out: one request, then the outbox waits.
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(1);
    const [row] = (await deliveryRows(tables)).filter((entry) => entry.status === 'pending');
    expect(row!.nextAttemptAt >= new Date(clock + 120_000).toISOString()).toBe(true);
    expect(row!.lastError).toBe(
      'Delivery to webhook#1 failed after 1 attempt(s): throttled (429); it asked to wait 120 s',
    );

    receiver.setBehaviour(() => ({ kind: 'accept' }));
    expect(await instance.redeliver()).toMatchObject({ due: 0 });
    clock += 121_000;
    expect(await instance.redeliver()).toMatchObject({ due: 1, delivered: 1 });
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(auditIds));
  });

  it('does not count a Teams 200 that reports throttling as delivered', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = invitations('teams-throttle', 2);
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'teams-throttle' } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver);

    await batchHandlerFor(instance)(messages, batchContext({ logs: [], messages: 2 }));

    expect(receiver.acknowledged(TEAMS_PATH).size).toBe(0);
    const pending = (await deliveryRows(tables)).filter((row) => row.status === 'pending');
    expect(pending.map((row) => row.destination)).toEqual(['teams#1', 'teams#1']);

    receiver.setBehaviour(() => ({ kind: 'accept' }));
    await instance.redeliver();

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(auditIds));
  });

  it('sets aside deliveries for a destination no longer configured until they expire', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages } = invitations('removed', 1);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 500 } : { kind: 'accept' },
    );
    let clock = at.getTime();
    const now = () => new Date(clock);
    await batchHandlerFor(detectorInstance(tables, receiver, {}, { now }))(
      messages,
      batchContext({ logs: [], messages: 1 }),
    );
    const withoutWebhook = detectorInstance(
      tables,
      receiver,
      { ALERT_WEBHOOK_URL: receiver.url('/another-webhook') },
      { now },
    );

    expect(await withoutWebhook.redeliver()).toMatchObject({ due: 1, unknownDestination: 1 });
    const [row] = (await deliveryRows(tables)).filter((entry) => entry.status === 'pending');
    expect(row!.nextAttemptAt).toBe(new Date(clock + 24 * 3_600_000 + 1_000).toISOString());
    expect(await withoutWebhook.redeliver()).toMatchObject({ due: 0 });

    clock += 24 * 3_600_000 + 1_000;
    expect((await withoutWebhook.redeliver()).expired).toMatchObject([
      { destination: 'webhook#1' },
    ]);
  });

  it('dead-letters an alert still undelivered after the age limit, and logs an error for it', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const { messages, auditIds } = invitations('expired', 1);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 502 } : { kind: 'accept' },
    );
    let clock = at.getTime();
    const instance = detectorInstance(
      tables,
      receiver,
      { ALERT_MAX_AGE_HOURS: '24' },
      { now: () => new Date(clock) },
    );
    await batchHandlerFor(instance)(messages, batchContext({ logs: [], messages: 1 }));
    await instance.redeliver();

    clock += 24 * 3_600_000 + 1_000;
    const logs: LogLine[] = [];
    await createRedeliveryHandler(instance)(tick, timerContext(logs));

    const [row] = (await deliveryRows(tables)).filter((entry) => entry.destination === 'webhook#1');
    expect(row).toMatchObject({ status: 'dead', attempts: 2 });
    const errors = logs.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!.text)).toMatchObject({
      event: 'alert-expired',
      auditId: auditIds[0],
      destination: 'webhook#1',
      attempts: 2,
      lastError:
        'Delivery to webhook#1 failed after 2 attempt(s): the destination answered HTTP 502',
    });
    const deadLetters = await instance.deadLetters!.list('alert', 10);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ kind: 'alert', destination: 'webhook#1' });
    expect(deadLetters[0]!.reason).toMatch(
      /^not delivered within 24 h; last error: Delivery to webhook#1/,
    );
    expect(JSON.parse(deadLetters[0]!.rawText)).toMatchObject({ auditId: auditIds[0] });
  });
});
