import { InvocationContext } from '@azure/functions';

import type { AlertSink } from '../../lib/alertSink';
import type { AllowlistEntry } from '../../lib/allowlistEntry';
import { startAzurite } from '../../lib/azuriteProcess';
import { CachedAllowlist, type AllowlistSource } from '../../lib/cachedAllowlist';
import { TableAllowlistSource } from '../../lib/detectorRuntime';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import { TableAllowlistStore } from '../../lib/tableAllowlistStore';
import { createTableClient } from '../../lib/tableServiceClients';
import type { CorpusMessage } from './auditCorpus';
import { median } from './benchStatistics';

export interface AllowlistReadsResult {
  entries: number;
  ttlSeconds: number;
  /** Simulated arrival rate of the stream. */
  recordsPerSecond: number;
  partitions: number;
  records: number;
  invitations: number;
  simulatedMinutes: number;
  reads: number;
  readsPer10k: number;
  /** TTL periods the stream spans: the most reads the cache may make. */
  ttlPeriods: number;
  /** Shortest simulated gap between two reads; at least the TTL when the cache works. */
  minSecondsBetweenReads: number | null;
  /** Median wall-clock time of one whole-table read from Azurite. */
  readMs: number;
  recordsWithoutInvitations: number;
  readsWithoutInvitations: number;
}

export interface AllowlistReadsOptions {
  ttlSeconds: number;
  recordsPerSecond: number;
  partitions: number;
  records: number;
  recordsWithoutInvitations: number;
}

/** Counts the reads that reach the table, with their simulated time and wall-clock cost. */
class CountingSource implements AllowlistSource {
  readonly readTimes: number[] = [];
  readonly readDurations: number[] = [];

  constructor(
    private readonly inner: AllowlistSource,
    private readonly clock: () => number,
  ) {}

  async readAll(): Promise<AllowlistEntry[]> {
    this.readTimes.push(this.clock());
    const start = performance.now();
    const entries = await this.inner.readAll();
    this.readDurations.push(performance.now() - start);

    return entries;
  }
}

const silentSink: AlertSink = {
  send: (alerts) => Promise.resolve({ delivered: alerts.length, failed: 0, failures: [] }),
};

/**
 * Streams records through the real handler, with the real CachedAllowlist over the Table
 * store in an Azurite started for the purpose, on a simulated clock so that a long stream
 * (many TTLs) runs in seconds. Several partitions run concurrently on the one instance, as
 * the host does. A second stream holds no invitations and must cause no read at all.
 */
export async function measureAllowlistReads(
  entries: AllowlistEntry[],
  withInvitations: CorpusMessage[][],
  withoutInvitations: CorpusMessage[][],
  options: AllowlistReadsOptions,
): Promise<AllowlistReadsResult> {
  const azurite = await startAzurite();
  try {
    const store = new TableAllowlistStore(
      createTableClient(
        { kind: 'connection-string', connectionString: azurite.connectionString },
        'BenchApprovedInviters',
      ),
    );
    await store.ensureTable();
    await upsertAll(store, entries);
    const listing = await store.listEntries();
    if (listing.entries.length !== entries.length || listing.problems.length > 0) {
      throw new Error(
        `the allowlist table holds ${listing.entries.length} valid entries, expected ` +
          `${entries.length}: ${listing.problems.slice(0, 3).join('; ')}`,
      );
    }

    const busy = await streamThrough(store, withInvitations, options.records, options);
    const quiet = await streamThrough(
      store,
      withoutInvitations,
      options.recordsWithoutInvitations,
      options,
    );
    const gaps = busy.source.readTimes.slice(1).map((time, index) => {
      return (time - (busy.source.readTimes[index] ?? time)) / 1000;
    });
    const simulatedSeconds = busy.records / options.recordsPerSecond;

    return {
      entries: listing.entries.length,
      ttlSeconds: options.ttlSeconds,
      recordsPerSecond: options.recordsPerSecond,
      partitions: options.partitions,
      records: busy.records,
      invitations: busy.invitations,
      simulatedMinutes: simulatedSeconds / 60,
      reads: busy.source.readTimes.length,
      readsPer10k: (busy.source.readTimes.length / busy.records) * 10_000,
      ttlPeriods: Math.ceil(simulatedSeconds / options.ttlSeconds),
      minSecondsBetweenReads: gaps.length === 0 ? null : Math.min(...gaps),
      readMs: median(busy.source.readDurations),
      recordsWithoutInvitations: quiet.records,
      readsWithoutInvitations: quiet.source.readTimes.length,
    };
  } finally {
    await azurite.stop();
  }
}

async function upsertAll(store: TableAllowlistStore, entries: AllowlistEntry[]): Promise<void> {
  const pending = [...entries];
  const worker = async (): Promise<void> => {
    for (let entry = pending.shift(); entry !== undefined; entry = pending.shift()) {
      await store.upsertEntry(entry, { createdBy: 'bench', createdAt: '2026-11-01T00:00:00Z' });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function streamThrough(
  store: TableAllowlistStore,
  pool: CorpusMessage[][],
  records: number,
  options: AllowlistReadsOptions,
): Promise<{ source: CountingSource; records: number; invitations: number }> {
  let simulatedMs = Date.parse('2026-11-18T00:00:00Z');
  const clock = (): number => simulatedMs;
  const source = new CountingSource(new TableAllowlistSource(store), clock);
  const allowlist = new CachedAllowlist(source, options.ttlSeconds * 1000, clock);
  const handler = createBatchHandler({
    allowlist,
    sink: silentSink,
    now: () => new Date(simulatedMs),
  });
  const context = new InvocationContext({ logHandler: () => undefined });
  const bodies = pool.map((batch) => batch.map((message) => message.body));
  const recordsPerBatch = pool.map((batch) => batch.reduce((sum, m) => sum + m.records, 0));
  const invitationsPerBatch = pool.map((batch) =>
    batch.reduce((sum, message) => sum + message.invitations, 0),
  );

  let streamed = 0;
  let invitations = 0;
  let next = 0;
  while (streamed < records) {
    const round: Promise<void>[] = [];
    let roundRecords = 0;
    for (let partition = 0; partition < options.partitions; partition += 1) {
      const index = next % bodies.length;
      next += 1;
      roundRecords += recordsPerBatch[index] ?? 0;
      invitations += invitationsPerBatch[index] ?? 0;
      round.push(handler(bodies[index], context));
    }
    await Promise.all(round);
    streamed += roundRecords;
    simulatedMs += (roundRecords / options.recordsPerSecond) * 1000;
  }

  return { source, records: streamed, invitations };
}
