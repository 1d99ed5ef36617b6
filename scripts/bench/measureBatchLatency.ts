import { InvocationContext } from '@azure/functions';

import type { Alert } from '../../lib/alert';
import type { AlertSink, AlertSinkReport } from '../../lib/alertSink';
import type { AllowlistEntry } from '../../lib/allowlistEntry';
import { CachedAllowlist } from '../../lib/cachedAllowlist';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import type { CorpusMessage } from './auditCorpus';
import { median, percentile } from './benchStatistics';

export interface BatchLatencyResult {
  recordsPerBatch: number;
  batches: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
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
 */
export async function measureBatchLatency(
  batches: CorpusMessage[][],
  entries: AllowlistEntry[],
  options: { measured: number; warmups: number },
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

  const times: number[] = [];
  for (let index = 0; index < options.measured; index += 1) {
    const batch = bodies[index % bodies.length];
    const start = performance.now();
    await handler(batch, context);
    times.push(performance.now() - start);
  }

  return {
    recordsPerBatch: batches[0]?.reduce((sum, message) => sum + message.records, 0) ?? 0,
    batches: times.length,
    p50Ms: median(times),
    p99Ms: percentile(times, 99),
    maxMs: Math.max(...times),
    alerts: sink.alerts,
  };
}
