import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvocationContext, type Timer } from '@azure/functions';

import type { Alert } from '../../lib/alert';
import { AlertOutbox, type ClaimOutcome } from '../../lib/alertOutbox';
import { startAzurite, type RunningAzurite } from '../../lib/azuriteProcess';
import { CircuitBreaker } from '../../lib/circuitBreaker';
import { DEFAULT_DELIVERY_OPTIONS } from '../../lib/deliverNotification';
import { parseDestinations, type Destination } from '../../lib/destination';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import { OutboxAlertSink } from '../../lib/outboxAlertSink';
import { OutboxDeliverer } from '../../lib/outboxDeliverer';
import { redeliverPendingAlerts } from '../../lib/redeliverPendingAlerts';
import { createRedeliveryHandler } from '../../lib/redeliveryTimerHandler';
import { StorageUnavailableError } from '../../lib/storageUnavailableError';
import { createTableClient } from '../../lib/tableServiceClients';
import { TeamsRateLimiter } from '../../lib/teamsRateLimiter';
import {
  eventHubMessage,
  invitationRecord,
  inviterNumber,
  malformedRecord,
} from '../support/auditStream';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  allowlist,
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
import { waitFor } from '../support/waitFor';

// Stopping and starting Azurite, and the SDK's own retries against a stopped one, take time.
jest.setTimeout(120_000);

const at = new Date('2026-11-18T10:00:00Z');

function invitations(prefix: string, count: number): { messages: unknown[]; auditIds: string[] } {
  const records = Array.from(
    { length: count },
    (_, index) =>
      invitationRecord(`${prefix}-${index}`, inviterNumber(400 + index), at) as {
        properties: { id: string };
      },
  );

  return {
    messages: [eventHubMessage(records)],
    auditIds: records.map((record) => record.properties.id),
  };
}

/** Azurite of this file's own, keeping its data on disk so a restart keeps the tables. */
let azurite: RunningAzurite;
let location: string;
let receiver: FlakyReceiver;

async function restartAzurite(): Promise<void> {
  azurite = await startAzurite(azurite.port, { location });
}

beforeEach(async () => {
  location = mkdtempSync(join(tmpdir(), 'azurite-outage-'));
  azurite = await startAzurite(undefined, { location });
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
  await azurite.stop();
  rmSync(location, { recursive: true, force: true });
});

describe('a storage outage', () => {
  it('makes the handler throw, so the retry policy runs the batch again, and the retry sends each alert once', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const before = invitations('before', 3);
    const during = invitations('during', 4);
    const instance = detectorInstance(tables, receiver);
    const handler = batchHandlerFor(instance);
    const logs: LogLine[] = [];
    await handler(before.messages, batchContext({ logs, messages: 1, firstSequence: 10 }));

    await azurite.stop();
    await expect(
      handler(during.messages, batchContext({ logs, messages: 1, firstSequence: 11 })),
    ).rejects.toThrow(StorageUnavailableError);

    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(before.auditIds));
    expect(batchSummaries(logs)[1]).toMatchObject({ alerts: 4, delivered: 0, storageFailed: true });
    expect(logs.at(-1)).toEqual({
      level: 'error',
      text: expect.stringMatching(
        /^Storage failed; the batch will be retried by the trigger's retry policy: Table Outbox\w+ could not store alert [0-9a-f]{32}: no answer \(ECONNREFUSED\)$/,
      ) as string,
    });

    await restartAzurite();
    await handler(
      during.messages,
      batchContext({
        logs,
        messages: 1,
        firstSequence: 11,
        retryContext: { retryCount: 1, maxRetryCount: 8 },
      }),
    );
    // Event Hubs may also hand the earlier batch over again after the trouble.
    await handler(before.messages, batchContext({ logs, messages: 1, firstSequence: 10 }));
    await instance.redeliver();

    const all = [...before.auditIds, ...during.auditIds];
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(all));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(all));
  });

  it('sends what was claimed before storage failed mid-batch, and the retry sends the rest, each once', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const batch = invitations('midway', 6);
    const client = createTableClient(
      { kind: 'connection-string', connectionString: tables.connectionString },
      tables.outboxTable,
    );
    const outbox = new StopsStorageAfterClaims(client, 3, () => azurite.stop());
    let clock = at.getTime();
    const now = () => new Date(clock);
    const destinations = [
      ...parseDestinations('TEAMS_WEBHOOK_URL', receiver.url(TEAMS_PATH), 'teams'),
      ...parseDestinations('ALERT_WEBHOOK_URL', receiver.url(WEBHOOK_PATH), 'webhook'),
    ];
    const deliverer = new OutboxDeliverer({
      outbox,
      delivery: { ...DEFAULT_DELIVERY_OPTIONS, timeoutMs: 300, maxAttempts: 2, baseDelayMs: 5 },
      breaker: new CircuitBreaker({ failureThreshold: 5, cooldownMs: 60_000 }),
      teamsLimiter: new TeamsRateLimiter({ requestsPerSecond: 3 }),
      teamsDigestThreshold: 5,
      leaseMs: 5 * 60_000,
      now,
    });
    const handler = createBatchHandler({
      allowlist,
      sink: new OutboxAlertSink({ outbox, deliverer, destinations, leaseMs: 5 * 60_000, now }),
    });
    const logs: LogLine[] = [];

    await expect(handler(batch.messages, batchContext({ logs, messages: 1 }))).rejects.toThrow(
      StorageUnavailableError,
    );

    // The three claimed alerts went out although storage could not record that they did.
    expect(receiver.acknowledged(WEBHOOK_PATH).size).toBe(3);
    expect(batchSummaries(logs)[0]).toMatchObject({ delivered: 6, storageFailed: true });

    await restartAzurite();
    await handler(
      batch.messages,
      batchContext({ logs, messages: 1, retryContext: { retryCount: 1, maxRetryCount: 8 } }),
    );
    clock += 10 * 60_000;
    const redelivery = await redeliverPendingAlerts({
      outbox: new AlertOutbox(client),
      deliverer,
      destinations,
      deadLetters: undefined,
      maxAgeMs: 24 * 3_600_000,
      leaseMs: 5 * 60_000,
      now,
    });

    expect(redelivery).toMatchObject({ due: 0, delivered: 0 });
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(batch.auditIds));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
  });

  it('on the last retry sends alerts it cannot store without a claim, and logs them in full', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const batch = invitations('last-retry', 2);
    const handler = batchHandlerFor(detectorInstance(tables, receiver));
    const logs: LogLine[] = [];

    await azurite.stop();
    await expect(
      handler(
        batch.messages,
        batchContext({ logs, messages: 1, retryContext: { retryCount: 8, maxRetryCount: 8 } }),
      ),
    ).rejects.toThrow(StorageUnavailableError);
    await restartAzurite();

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(batch.auditIds));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
    const unstored = logs
      .filter((line) => line.level === 'error' && line.text.startsWith('{"event":"alert-unstored"'))
      .map((line) => JSON.parse(line.text) as { alert: Alert });
    expect(unstored.map((line) => line.alert.auditId).sort()).toEqual([...batch.auditIds].sort());
  });

  it('on the last retry sends alerts it cannot store even where a circuit is open, and logs where each went', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const earlier = invitations('circuit-opened', 1);
    const batch = invitations('last-retry-circuit', 2);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 500 } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver, { CIRCUIT_BREAKER_FAILURES: '1' });
    const handler = batchHandlerFor(instance);
    const logs: LogLine[] = [];
    await handler(earlier.messages, batchContext({ logs, messages: 1, firstSequence: 20 }));
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );

    await azurite.stop();
    await expect(
      handler(
        batch.messages,
        batchContext({
          logs,
          messages: 1,
          firstSequence: 21,
          retryContext: { retryCount: 8, maxRetryCount: 8 },
        }),
      ),
    ).rejects.toThrow(StorageUnavailableError);
    await restartAzurite();

    // The webhook's circuit is open on this instance, but nothing else would send these.
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
    const unstored = logs
      .filter((line) => line.level === 'error' && line.text.startsWith('{"event":"alert-unstored"'))
      .map((line) => JSON.parse(line.text) as Record<string, unknown> & { alert: Alert });
    expect(unstored.map((line) => line.alert.auditId).sort()).toEqual([...batch.auditIds].sort());
    for (const line of unstored) {
      expect(line).toMatchObject({
        cause: 'storage-unavailable',
        finalAttempt: true,
        alertId: line.alert.alertId,
        sentTo: ['webhook#1'],
        notSentTo: ['teams#1'],
      });
    }
    expect(JSON.stringify(logs)).not.toContain('127.0.0.1');
  });

  it('on the last retry logs the unreadable records it could not dead-letter, raw text included', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const handler = batchHandlerFor(detectorInstance(tables, receiver));
    const messages = [eventHubMessage([malformedRecord(0), malformedRecord(1)])];
    const logs: LogLine[] = [];
    const recordLines = () =>
      logs
        .filter(
          (line) => line.level === 'error' && line.text.startsWith('{"event":"record-unstored"'),
        )
        .map((line) => JSON.parse(line.text) as unknown);

    await azurite.stop();
    await expect(
      handler(
        messages,
        batchContext({ logs, messages: 1, retryContext: { retryCount: 7, maxRetryCount: 8 } }),
      ),
    ).rejects.toThrow(StorageUnavailableError);
    expect(recordLines()).toEqual([]);
    await expect(
      handler(
        messages,
        batchContext({ logs, messages: 1, retryContext: { retryCount: 8, maxRetryCount: 8 } }),
      ),
    ).rejects.toThrow(StorageUnavailableError);
    await restartAzurite();

    expect(recordLines()).toEqual([
      {
        event: 'record-unstored',
        where: 'message 0 (sequence 1000), record 0',
        reason: 'expected a JSON object, got a number',
        eventHubPartition: '0',
        sequenceNumber: '1000',
        offset: '4096000',
        enqueuedTime: '2026-11-18T10:05:00Z',
        rawLength: 2,
        rawText: '42',
      },
      {
        event: 'record-unstored',
        where: 'message 0 (sequence 1000), record 1',
        reason: 'expected a JSON object, got a string',
        eventHubPartition: '0',
        sequenceNumber: '1000',
        offset: '4096000',
        enqueuedTime: '2026-11-18T10:05:00Z',
        rawLength: 38,
        rawText: '"a bare string where a record belongs"',
      },
    ]);
  });

  it('records a delivery that storage refused to record as soon as storage is back, so the timer elsewhere does not send it again', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const batch = invitations('unrecorded', 1);
    let stopping: Promise<void> | undefined;
    receiver.setBehaviour(() => {
      // Storage goes down while the webhook is acknowledging the alert.
      stopping ??= azurite.stop();

      return { kind: 'slow', delayMs: 2_500 };
    });
    let clock = at.getTime();
    const now = () => new Date(clock);
    const settings = { TEAMS_WEBHOOK_URL: '' };
    const sender = detectorInstance(tables, receiver, settings, {
      delivery: { timeoutMs: 5_000, maxAttempts: 1 },
      now,
      backlogFlushIntervalMs: 200,
    });

    await batchHandlerFor(sender)(batch.messages, batchContext({ logs: [], messages: 1 }));
    expect(sender.unrecordedDeliveries()).toBe(1);
    await stopping;
    await restartAzurite();
    // No batch and no redelivery pass on this instance: it writes the outcome on its own.
    await waitFor(
      () => sender.unrecordedDeliveries() === 0,
      20_000,
      () => 'the delivery was never recorded',
    );
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    clock += 3_600_000;
    const timer = detectorInstance(tables, receiver, settings, { now });

    expect(await timer.redeliver()).toMatchObject({ due: 0 });
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
  });

  it('fails the redelivery timer run with a logged error, and the next run delivers', async () => {
    const tables = newDeploymentTables(azurite.connectionString);
    const batch = invitations('timer', 2);
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver);
    await batchHandlerFor(instance)(batch.messages, batchContext({ logs: [], messages: 1 }));
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    const logs: LogLine[] = [];
    const timer = createRedeliveryHandler(instance);

    await azurite.stop();
    await expect(timer(tick, timerContext(logs))).rejects.toThrow(StorageUnavailableError);
    await restartAzurite();
    await timer(tick, timerContext(logs));

    expect(logs[0]).toEqual({
      level: 'error',
      text: expect.stringMatching(
        /^Redelivery pass failed; the next run tries again: Table Outbox\w+ could not list due alerts: no answer \(ECONNREFUSED\)$/,
      ) as string,
    });
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
  });
});

const tick: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: {} as never,
};

function timerContext(logs: LogLine[]): InvocationContext {
  return new InvocationContext({
    invocationId: 'timer',
    functionName: 'redeliverAlerts',
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
  });
}

/** The outbox, except that storage really goes down once `healthyClaims` claims are done. */
class StopsStorageAfterClaims extends AlertOutbox {
  private started = 0;
  private readonly healthy: Promise<ClaimOutcome>[] = [];
  private outage: Promise<void> | undefined;

  constructor(
    client: ConstructorParameters<typeof AlertOutbox>[0],
    private readonly healthyClaims: number,
    private readonly stopStorage: () => Promise<void>,
  ) {
    super(client);
  }

  override async claim(
    alert: Alert,
    destinations: Destination[],
    now: Date,
    leaseUntil: Date,
  ): Promise<ClaimOutcome> {
    this.started += 1;
    if (this.started <= this.healthyClaims) {
      const claim = super.claim(alert, destinations, now, leaseUntil);
      this.healthy.push(claim);

      return claim;
    }
    this.outage ??= Promise.allSettled(this.healthy).then(() => this.stopStorage());
    await this.outage;

    return super.claim(alert, destinations, now, leaseUntil);
  }
}
