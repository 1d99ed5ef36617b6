import { InvocationContext, type RetryContext } from '@azure/functions';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { startAzurite } from '../lib/azuriteProcess';
import { StaticAllowlist } from '../lib/cachedAllowlist';
import { createDetectorRuntime, type DetectorRuntime } from '../lib/detectorRuntime';
import { createBatchHandler } from '../lib/eventHubBatchHandler';
import {
  eventHubMessage,
  invitationRecord,
  inviterNumber,
  malformedRecord,
  signInRecord,
  userUpdateRecord,
} from '../test/support/auditStream';
import {
  startFlakyReceiver,
  type ReceivedMessage,
  type ReceiverAnswer,
} from '../test/support/flakyReceiver';

const USAGE = `Usage: npm run soak -- [--records N] [--partitions N] [--seed N] [--outage-seconds N]

Pushes a stream of realistic audit records through the real batch handler with the
outbox sink, against an Azurite of its own and a receiver that fails at random
(500s, 429s with Retry-After, Teams throttling inside a 200 and whenever Teams'
4 per second is exceeded, hangs). Instances are restarted mid-stream, batches
redelivered and run on two instances at once, as Event Hubs does; half-way through,
Azurite is stopped for a while and started again. Then redelivery runs until the
outbox is empty, and every alert is counted at the receiver.
Exits 0 only when each destination got every expected alert exactly once.
  --records N         records in the stream (default 100000)
  --partitions N      Event Hub partitions, one instance each (default 4)
  --seed N            another stream and plan of restarts (default 20261118)
  --outage-seconds N  how long storage is down half-way (default 15; 0 for none)
`;

const RECORDS_PER_MESSAGE = 50;
const MESSAGES_PER_BATCH = 20;
const TEAMS = '/teams';
const WEBHOOK = '/webhook';
/** Draining the outbox at the end must not take longer than this. */
const DRAIN_DEADLINE_MS = 5 * 60_000;
/** The retry policy declared for the Event Hub trigger. */
const MAX_RETRY_COUNT = 8;

/** A small, seeded generator (mulberry32), so a run can be repeated exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;

  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);

    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What a record is, decided by a digest of its key so the stream can be regenerated. */
type RecordKind =
  'alerting-invitation' | 'approved-invitation' | 'malformed' | 'update' | 'sign-in';

function kindOf(key: string, seed: number): { kind: RecordKind; draw: number } {
  const draw = createHash('sha256').update(`${seed}:${key}`).digest().readUInt32BE(0) % 10_000;
  if (draw < 250) {
    return { kind: 'alerting-invitation', draw };
  }
  if (draw < 300) {
    return { kind: 'approved-invitation', draw };
  }
  if (draw < 350) {
    return { kind: 'malformed', draw };
  }

  return { kind: draw < 3_500 ? 'update' : 'sign-in', draw };
}

const streamTime = new Date('2026-11-18T09:00:00Z');
const approvedInviters = Array.from({ length: 10 }, (_, index) => inviterNumber(index));

function recordFor(key: string, seed: number, index: number): unknown {
  const { kind, draw } = kindOf(key, seed);
  const time = new Date(streamTime.getTime() + index * 37);
  switch (kind) {
    case 'alerting-invitation':
      return invitationRecord(key, inviterNumber(1_000 + (draw % 400)), time);
    case 'approved-invitation':
      return invitationRecord(key, approvedInviters[draw % 10]!, time);
    case 'malformed':
      return malformedRecord(draw);
    case 'update':
      return userUpdateRecord(key, time);
    case 'sign-in':
      return signInRecord(key, time);
  }
}

interface StreamPlan {
  seed: number;
  partitions: number;
  batchesPerPartition: number;
  recordsInLastBatch: number;
}

function recordKey(partition: number, batch: number, message: number, record: number): string {
  return `p${partition}-b${batch}-m${message}-r${record}`;
}

function recordsIn(plan: StreamPlan, batch: number): number {
  return batch === plan.batchesPerPartition - 1
    ? plan.recordsInLastBatch
    : RECORDS_PER_MESSAGE * MESSAGES_PER_BATCH;
}

/** One batch as the host hands it over: mostly parsed bodies, some text or bytes. */
function batchAt(plan: StreamPlan, partition: number, batch: number): unknown[] {
  const records = recordsIn(plan, batch);
  const messages: unknown[] = [];
  for (let message = 0; message * RECORDS_PER_MESSAGE < records; message += 1) {
    const body = eventHubMessage(
      Array.from(
        { length: Math.min(RECORDS_PER_MESSAGE, records - message * RECORDS_PER_MESSAGE) },
        (_, record) =>
          recordFor(
            recordKey(partition, batch, message, record),
            plan.seed,
            batch * 1_000 + message * RECORDS_PER_MESSAGE + record,
          ),
      ),
    );
    const form = (partition + batch + message) % 10;
    messages.push(
      form === 0 ? JSON.stringify(body) : form === 1 ? Buffer.from(JSON.stringify(body)) : body,
    );
  }

  return messages;
}

/** What the stream should produce: audit ids of alerting invitations, and malformed records. */
function expectationsOf(plan: StreamPlan) {
  const alerts = new Set<string>();
  let invitations = 0;
  let malformed = 0;
  for (let partition = 0; partition < plan.partitions; partition += 1) {
    for (let batch = 0; batch < plan.batchesPerPartition; batch += 1) {
      const records = recordsIn(plan, batch);
      for (let index = 0; index < records; index += 1) {
        const message = Math.floor(index / RECORDS_PER_MESSAGE);
        const key = recordKey(partition, batch, message, index % RECORDS_PER_MESSAGE);
        const { kind } = kindOf(key, plan.seed);
        if (kind === 'alerting-invitation') {
          invitations += 1;
          const record = recordFor(key, plan.seed, 0) as { properties: { id: string } };
          alerts.add(record.properties.id);
        } else if (kind === 'approved-invitation') {
          invitations += 1;
        } else if (kind === 'malformed') {
          malformed += 1;
        }
      }
    }
  }

  return { alerts, invitations, malformed };
}

/** A receiver that fails like real ones, and throttles Teams beyond 4 requests a second. */
function flakyBehaviour(random: () => number) {
  const teamsArrivals: number[] = [];
  const answers = new Map<string, number>();

  const behaviour = (message: ReceivedMessage): ReceiverAnswer => {
    let answer: ReceiverAnswer;
    const roll = random();
    if (message.path === TEAMS) {
      teamsArrivals.push(message.at);
      while (teamsArrivals.length > 0 && teamsArrivals[0]! <= message.at - 1_000) {
        teamsArrivals.shift();
      }
    }
    if (message.path === TEAMS && teamsArrivals.length > 4) {
      answer = { kind: 'teams-throttle' };
    } else if (roll < 0.04) {
      answer = { kind: 'fail', status: 500 };
    } else if (roll < 0.07) {
      answer = { kind: 'throttle', retryAfterSeconds: 1 };
    } else if (roll < 0.08) {
      answer = { kind: 'hang' };
    } else if (roll < 0.09 && message.path === TEAMS) {
      answer = { kind: 'teams-throttle' };
    } else {
      answer = { kind: 'accept' };
    }
    const label = answer.kind === 'fail' ? `fail ${answer.status}` : answer.kind;
    answers.set(label, (answers.get(label) ?? 0) + 1);

    return answer;
  };

  return { behaviour, answers };
}

interface Instance {
  runtime: DetectorRuntime;
  handler: ReturnType<typeof createBatchHandler>;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '100000' },
      partitions: { type: 'string', default: '4' },
      seed: { type: 'string', default: '20261118' },
      'outage-seconds': { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);

    return 0;
  }

  const totalRecords = Number(values.records);
  const partitions = Number(values.partitions);
  const seed = Number(values.seed);
  const outageMs = Number(values['outage-seconds']) * 1000;
  if (
    ![totalRecords, partitions, seed, outageMs].every(Number.isInteger) ||
    partitions < 1 ||
    outageMs < 0
  ) {
    process.stderr.write(USAGE);

    return 2;
  }

  const perPartition = Math.ceil(totalRecords / partitions);
  const batchRecords = RECORDS_PER_MESSAGE * MESSAGES_PER_BATCH;
  const plan: StreamPlan = {
    seed,
    partitions,
    batchesPerPartition: Math.ceil(perPartition / batchRecords),
    recordsInLastBatch: perPartition - batchRecords * (Math.ceil(perPartition / batchRecords) - 1),
  };
  const expected = expectationsOf(plan);
  // The receiver's faults follow the order requests arrive in, which timing decides; each
  // partition's restarts and redeliveries follow a generator of its own, so they repeat.
  const receiverRandom = seededRandom(seed);
  const started = Date.now();

  // On disk rather than in memory, so that the outage half-way loses nothing.
  const location = mkdtempSync(join(tmpdir(), 'soak-azurite-'));
  let azurite = await startAzurite(undefined, { location });
  const { behaviour, answers } = flakyBehaviour(receiverRandom);
  const receiver = await startFlakyReceiver(behaviour);
  const allowlist = new StaticAllowlist(
    approvedInviters.map((inviter) => ({ inviter: inviter.upn })),
  );
  const env = {
    TABLES_CONNECTION_STRING: azurite.connectionString,
    ALERT_OUTBOX_TABLE: 'SoakAlertOutbox',
    DEAD_LETTER_TABLE: 'SoakDeadLetters',
    TEAMS_WEBHOOK_URL: receiver.url(TEAMS),
    ALERT_WEBHOOK_URL: receiver.url(WEBHOOK),
    DELIVERY_TIMEOUT_MS: '1000',
    DELIVERY_MAX_ATTEMPTS: '3',
    CIRCUIT_BREAKER_FAILURES: '5',
    CIRCUIT_BREAKER_COOLDOWN_SECONDS: '2',
  };
  const newInstance = (): Instance => {
    // Production timings, shortened so the run takes minutes: the same code paths.
    const runtime = createDetectorRuntime(env, {
      delivery: { baseDelayMs: 50, maxDelayMs: 400, maxRetryAfterMs: 2_000 },
      retryDelayMs: (attempts) => Math.min(2_000, 100 * 2 ** (attempts - 1)),
      leaseMs: 30_000,
    });

    return {
      runtime,
      handler: createBatchHandler({
        allowlist,
        sink: runtime.sink,
        deadLetters: runtime.deadLetters,
      }),
    };
  };

  const stats = {
    batches: 0,
    restarts: 0,
    restartsDeferred: 0,
    redelivered: 0,
    overlapping: 0,
    retries: 0,
  };
  const outage = { startedAtBatch: -1, inProgress: false };
  const abandoned: Promise<void>[] = [];
  /**
   * Storage goes down half-way. The one case the detector does not cover is an instance that
   * stops while it holds deliveries storage could not record (docs/operations.md): those
   * alerts go out again. So no instance is dropped while storage is down or while it holds
   * such deliveries, and the outage waits for dropped instances still finishing a batch.
   */
  const stopStorageForAWhile = async (batch: number): Promise<void> => {
    outage.inProgress = true;
    outage.startedAtBatch = batch;
    await Promise.all(abandoned);
    await azurite.stop();
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    azurite = await startAzurite(azurite.port, { location });
    outage.inProgress = false;
  };
  const mayStop = (instance: Instance) =>
    !outage.inProgress && instance.runtime.unrecordedDeliveries() === 0;
  let outageDone: Promise<void> = Promise.resolve();
  const living: Instance[] = [];
  const silent = () => undefined;

  /** Runs one batch as the host would, retrying on failure as the retry policy does. */
  const runBatch = async (instance: Instance, partition: number, batch: number) => {
    const messages = batchAt(plan, partition, batch);
    for (let retryCount = 0; ; retryCount += 1) {
      const retryContext: RetryContext = { retryCount, maxRetryCount: MAX_RETRY_COUNT };
      const context = new InvocationContext({
        invocationId: `p${partition}-b${batch}-r${retryCount}`,
        functionName: 'detectGuestInvitations',
        triggerMetadata: {
          sequenceNumberArray: messages.map((_, index) => batch * MESSAGES_PER_BATCH + index),
          partitionContext: { partitionId: String(partition) },
        },
        retryContext,
        logHandler: silent,
      });
      try {
        stats.batches += 1;
        await instance.handler(messages, context);

        return;
      } catch (error) {
        if (retryCount >= MAX_RETRY_COUNT) {
          throw error;
        }
        stats.retries += 1;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** retryCount));
      }
    }
  };

  const runPartition = async (partition: number): Promise<void> => {
    const random = seededRandom(seed * 31 + partition + 1);
    let instance = newInstance();
    // Another instance that, during a rebalance, also believes it owns the partition.
    const rival = newInstance();
    living.push(rival);
    for (let batch = 0; batch < plan.batchesPerPartition; batch += 1) {
      if (partition === 0 && outageMs > 0 && batch === Math.floor(plan.batchesPerPartition / 2)) {
        outageDone = stopStorageForAWhile(batch);
      }
      const roll = random();
      if (batch > 0 && roll < 0.12) {
        if (mayStop(instance)) {
          // An instance stops: its objects are dropped and the batch it was on goes on
          // running a while (rebalancing); a new instance starts from the last checkpoint
          // and sees the latest batches again.
          stats.restarts += 1;
          abandoned.push(runBatch(instance, partition, batch).catch(silent));
          instance = newInstance();
          const from = Math.max(0, batch - 1 - Math.floor(random() * 3));
          for (let again = from; again < batch; again += 1) {
            stats.redelivered += 1;
            await runBatch(instance, partition, again);
          }
        } else {
          stats.restartsDeferred += 1;
        }
      }
      if (roll > 0.95) {
        stats.overlapping += 1;
        await Promise.all([
          runBatch(instance, partition, batch),
          runBatch(rival, partition, batch),
        ]);
      } else {
        await runBatch(instance, partition, batch);
      }
    }
    living.push(instance);
  };

  await Promise.all(Array.from({ length: partitions }, (_, partition) => runPartition(partition)));
  await Promise.all(abandoned);
  await outageDone;
  // A timer tick on each instance still running writes what storage refused earlier.
  await Promise.all(living.map((instance) => instance.runtime.redeliver()));
  const streamedAt = Date.now();

  // Redelivery, as the timer runs it, until nothing is pending any more.
  const drainer = newInstance();
  let passes = 0;
  let pendingLeft = Number.POSITIVE_INFINITY;
  while (Date.now() - streamedAt < DRAIN_DEADLINE_MS) {
    passes += 1;
    await drainer.runtime.redeliver();
    pendingLeft = (await drainer.runtime.outbox!.listByStatus('pending', 1_000)).length;
    if (pendingLeft === 0) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const deadAlerts = (await drainer.runtime.outbox!.listByStatus('dead', 1_000)).length;
  const deadLetters = (await drainer.runtime.deadLetters!.list('record', 100_000)).length;

  await receiver.close();
  await azurite.stop();
  rmSync(location, { recursive: true, force: true });

  const rows = [TEAMS, WEBHOOK].map((path) => {
    const acknowledged = receiver.acknowledged(path);
    let delivered = 0;
    let duplicated = 0;
    let unexpected = 0;
    for (const [auditId, count] of acknowledged) {
      if (expected.alerts.has(auditId)) {
        delivered += 1;
        duplicated += count - 1;
      } else {
        unexpected += count;
      }
    }

    return {
      destination: path === TEAMS ? 'teams#1' : 'webhook#1',
      expected: expected.alerts.size,
      delivered,
      duplicated,
      lost: expected.alerts.size - delivered,
      unexpected,
    };
  });
  const requests = receiver.messages.length;
  const passed =
    pendingLeft === 0 &&
    deadLetters === expected.malformed &&
    rows.every((row) => row.delivered === row.expected && row.duplicated === 0 && row.lost === 0);

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `soak: ${totalRecords} records in ${partitions} partitions, ${plan.batchesPerPartition} batches each of up to ${batchRecords} records (seed ${seed})`,
  );
  out(
    `  stream: ${expected.invitations} invitations, ${expected.alerts.size} by unapproved inviters (alerts expected), ${expected.malformed} malformed records`,
  );
  out(
    `  faults: ${stats.restarts} instance restarts (${stats.restartsDeferred} deferred: storage down or deliveries unrecorded), ${stats.redelivered} batches redelivered after them, ${stats.overlapping} batches run on two instances at once, ${stats.batches} handler invocations, ${stats.retries} retried`,
  );
  out(
    outageMs === 0
      ? '  storage: no outage'
      : `  storage: Azurite stopped for ${outageMs / 1000} s at batch ${outage.startedAtBatch} of partition 0, then started again`,
  );
  out(
    `  receiver: ${requests} requests; ${[...answers.entries()].map(([answer, count]) => `${count} ${answer}`).join(', ')}`,
  );
  out(
    `  outbox: drained in ${passes} redelivery passes; ${pendingLeft} pending, ${deadAlerts} dead`,
  );
  out(`  dead letters: ${deadLetters} stored for ${expected.malformed} malformed records`);
  out('  destination   expected  delivered  duplicated  lost  unexpected');
  for (const row of rows) {
    out(
      `  ${row.destination.padEnd(12)}${String(row.expected).padStart(10)}${String(row.delivered).padStart(11)}${String(row.duplicated).padStart(12)}${String(row.lost).padStart(6)}${String(row.unexpected).padStart(12)}`,
    );
  }
  out(
    `  time: ${Math.round((streamedAt - started) / 1000)} s streaming, ${Math.round((Date.now() - streamedAt) / 1000)} s draining`,
  );
  out(passed ? 'RESULT: PASS' : 'RESULT: FAIL');

  return passed ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
