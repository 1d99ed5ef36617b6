import { InvocationContext } from '@azure/functions';

import type { Alert } from '../../lib/alert';
import type { AlertSink, AlertSinkReport } from '../../lib/alertSink';
import type { AllowlistEntry } from '../../lib/allowlistEntry';
import { CachedAllowlist } from '../../lib/cachedAllowlist';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import type { CorpusMessage } from './auditCorpus';
import { cpuMilliseconds, median, percentile } from './benchStatistics';

export interface BatchLatencyResult {
  recordsPerBatch: number;
  /** Distinct batches, replayed in turn; few, so the heap stays as small as a worker's. */
  distinctBatches: number;
  rounds: number;
  batchesPerRound: number;
  /** Wall-clock percentiles: the median over rounds of each round's percentile. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same from CPU time, which time spent waiting for a shared core does not inflate. */
  cpuP50Ms: number;
  cpuP99Ms: number;
  /** Alerts handed to the sink over the measured batches: a check that detection ran. */
  alerts: number;
}

/** Takes the alerts and reports them delivered, so no network time is measured. */
class RecordingSink implements AlertSink {
  alerts = 0;

  send(alerts: Alert[]): Promise<AlertSinkReport> {
    this.alerts += alerts.length;

    return Promise.resolve({ delivered: alerts.length, failed: 0, failures: [] });
  }
}

/**
 * Times the Event Hub handler on batches as the host delivers them: an array of message
 * bodies. The bodies are strings, so parsing is inside the time (with JSON bodies the host
 * may hand over parsed objects, which would be faster). The allowlist cache is warm.
 * The caller keeps the heap small: a young-generation collection costs more with a large old
 * generation, and a worker holds little more than the batches it has prefetched.
 */
export async function measureBatchLatency(
  batches: CorpusMessage[][],
  entries: AllowlistEntry[],
  options: { rounds: number; batchesPerRound: number; warmups: number },
): Promise<BatchLatencyResult> {
  const allowlist = new CachedAllowlist({ readAll: () => Promise.resolve(entries) }, 3_600_000);
  await allowlist.get();
  const sink = new RecordingSink();
  const handler = createBatchHandler({ allowlist, sink });
  const bodies = batches.map((batch) => batch.map((message) => message.body));
  const context = new InvocationContext({
    invocationId: 'bench',
    functionName: 'detectGuestInvitations',
    logHandler: () => undefined,
  });

  for (let index = 0; index < options.warmups; index += 1) {
    await handler(bodies[index % bodies.length], context);
  }
  sink.alerts = 0;

  const rounds: { wall: number[]; cpu: number[] }[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let index = 0; index < options.batchesPerRound; index += 1) {
      const batch = bodies[index % bodies.length];
      const cpuStart = cpuMilliseconds();
      const start = performance.now();
      await handler(batch, context);
      wall.push(performance.now() - start);
      cpu.push(cpuMilliseconds() - cpuStart);
    }
    rounds.push({ wall, cpu });
  }
  const overRounds = (pick: (round: { wall: number[]; cpu: number[] }) => number): number =>
    median(rounds.map(pick));

  return {
    recordsPerBatch: batches[0]?.reduce((sum, message) => sum + message.records, 0) ?? 0,
    distinctBatches: bodies.length,
    rounds: options.rounds,
    batchesPerRound: options.batchesPerRound,
    p50Ms: overRounds((round) => median(round.wall)),
    p99Ms: overRounds((round) => percentile(round.wall, 99)),
    maxMs: Math.max(...rounds.map((round) => Math.max(...round.wall))),
    cpuP50Ms: overRounds((round) => median(round.cpu)),
    cpuP99Ms: overRounds((round) => percentile(round.cpu, 99)),
    alerts: sink.alerts,
  };
}
