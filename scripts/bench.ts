import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { AuditCorpus, type CorpusMessage } from './bench/auditCorpus';
import { collectGarbage, round } from './bench/benchStatistics';
import { formatBenchTable, type BenchRow } from './bench/benchTable';
import { measureAllowlistReads } from './bench/measureAllowlistReads';
import { measureBatchLatency } from './bench/measureBatchLatency';
import { measureColdStart } from './bench/measureColdStart';
import { measureScan } from './bench/measureScan';
import { measureThroughput } from './bench/measureThroughput';

const USAGE = `Usage: npm run bench -- [--quick] [--scan-gb N] [--seed N]

Measures the detector against the cost of parsing its input (see docs/performance.md).
  --quick      a smaller run: less data, fewer repetitions, a 0.1 GB scan
  --scan-gb N  size of the NDJSON export that scan reads (default 1, quick 0.1)
  --seed N     corpus seed (default 20261118), for a different but repeatable corpus
Prints a table, then one JSON line with the headline figures.
`;

interface BenchPlan {
  corpusMegabytes: number;
  repetitions: number;
  warmups: number;
  latencyBatches: number;
  latencyRounds: number;
  batchesPerRound: number;
  batchWarmups: number;
  streamBatches: number;
  streamRecords: number;
  quietRecords: number;
  scanGigabytes: number;
  coldStartRepetitions: number;
}

const FULL: BenchPlan = {
  corpusMegabytes: 24,
  repetitions: 21,
  warmups: 3,
  latencyBatches: 50,
  latencyRounds: 5,
  batchesPerRound: 2000,
  batchWarmups: 500,
  streamBatches: 300,
  streamRecords: 600_000,
  quietRecords: 100_000,
  scanGigabytes: 1,
  coldStartRepetitions: 7,
};

const QUICK: BenchPlan = {
  corpusMegabytes: 8,
  repetitions: 9,
  warmups: 2,
  latencyBatches: 30,
  latencyRounds: 3,
  batchesPerRound: 700,
  batchWarmups: 200,
  streamBatches: 100,
  streamRecords: 150_000,
  quietRecords: 30_000,
  scanGigabytes: 0.1,
  coldStartRepetitions: 3,
};

const TARGETS = {
  throughputRatio: 0.9,
  p99BatchMs: 2,
  scanPeakRssMb: 256,
};

const TTL_SECONDS = 60;
/** One throughput unit of ingress: 1 MB/s, about 500 audit records of 2 KB each. */
const STREAM_RECORDS_PER_SECOND = 500;
const PARTITIONS_PER_INSTANCE = 4;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'scan-gb': { type: 'string' },
      seed: { type: 'string', default: '20261118' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(USAGE);

    return 0;
  }

  const plan = { ...(values.quick ? QUICK : FULL) };
  if (values['scan-gb'] !== undefined) {
    plan.scanGigabytes = Number(values['scan-gb']);
    if (!(plan.scanGigabytes > 0)) {
      process.stderr.write(`--scan-gb must be a positive number of gigabytes\n\n${USAGE}`);

      return 2;
    }
  }
  const seed = Number(values.seed);
  const repoRoot = join(__dirname, '..', '..');
  const directory = mkdtempSync(join(tmpdir(), 'gid-bench-'));
  const removeDirectory = (): void => rmSync(directory, { recursive: true, force: true });
  process.once('SIGINT', () => {
    removeDirectory();
    process.exit(130);
  });

  try {
    return await run(plan, values.quick, seed, repoRoot, directory);
  } finally {
    removeDirectory();
  }
}

async function run(
  plan: BenchPlan,
  quick: boolean,
  seed: number,
  repoRoot: string,
  directory: string,
): Promise<number> {
  // Each step makes its own data and lets it go, so that no step runs beside another's heap.
  const corpus = new AuditCorpus({ seed });
  const allowlist = corpus.allowlist;
  progress(`1-2. JSON.parse floor against the pipeline over a ${plan.corpusMegabytes} MB corpus`);
  const throughput = await measureThroughput(
    corpus.messages(plan.corpusMegabytes * 1e6),
    allowlist,
    plan,
  );
  collectGarbage();

  const batchCount = plan.latencyRounds * plan.batchesPerRound;
  progress(`3. handler latency over ${batchCount} batches of 100 records`);
  const latency = await measureBatchLatency(batchesOf(corpus, plan.latencyBatches), allowlist, {
    rounds: plan.latencyRounds,
    batchesPerRound: plan.batchesPerRound,
    warmups: plan.batchWarmups,
  });

  progress(`4. allowlist reads against Azurite over ${plan.streamRecords} records`);
  const quietCorpus = new AuditCorpus({ seed: seed + 1, invitationShare: 0 });
  const reads = await measureAllowlistReads(
    allowlist,
    batchesOf(corpus, plan.streamBatches),
    batchesOf(quietCorpus, plan.streamBatches),
    {
      ttlSeconds: TTL_SECONDS,
      recordsPerSecond: STREAM_RECORDS_PER_SECOND,
      partitions: PARTITIONS_PER_INSTANCE,
      records: plan.streamRecords,
      recordsWithoutInvitations: plan.quietRecords,
    },
  );

  progress(`5. scan over a ${plan.scanGigabytes} GB NDJSON export in ${directory}`);
  const scan = await measureScan(new AuditCorpus({ seed: seed + 2 }), {
    bytes: plan.scanGigabytes * 1e9,
    directory,
    repoRoot,
  });

  progress(`6. module load time, ${plan.coldStartRepetitions} fresh processes each`);
  const coldStart = await measureColdStart(repoRoot, plan.coldStartRepetitions);

  const rows: BenchRow[] = [
    {
      measure: 'Corpus',
      result:
        `${throughput.messages} messages, ${throughput.records} records, ` +
        `${throughput.megabytes.toFixed(1)} MB, ${throughput.invitations} invitations, ` +
        `${allowlist.length} allowlist entries`,
    },
    {
      measure: '1. Floor: JSON.parse alone',
      result: describeRate(throughput.floor),
    },
    {
      measure: '2. Pipeline: parse+normalise+rule',
      result: describeRate(throughput.pipeline),
    },
    {
      measure: '   throughputRatio (CPU time)',
      result:
        `${throughput.throughputRatio.toFixed(3)} (wall clock ` +
        `${throughput.wallRatio.toFixed(3)}; median of ${throughput.repetitions} interleaved passes)`,
      target: `>= ${TARGETS.throughputRatio}`,
      met: throughput.throughputRatio >= TARGETS.throughputRatio,
    },
    {
      measure: '3. Handler, 100-record batches',
      result:
        `p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms, ` +
        `max ${latency.maxMs.toFixed(1)} ms (wall clock, string bodies)`,
      target: `p99 <= ${TARGETS.p99BatchMs} ms`,
      met: latency.p99Ms <= TARGETS.p99BatchMs,
    },
    {
      measure: '   CPU time per batch',
      result:
        `p50 ${latency.cpuP50Ms.toFixed(2)} ms, p99 ${latency.cpuP99Ms.toFixed(2)} ms ` +
        `(median of ${latency.rounds} rounds of ${latency.batchesPerRound}; ` +
        `${latency.distinctBatches} distinct batches)`,
    },
    {
      measure: '4. Allowlist reads (Azurite)',
      result:
        `${reads.reads} reads for ${reads.records} records: ` +
        `${reads.readsPer10k.toFixed(3)} per 10k records`,
      target: `<= 1 per TTL`,
      met:
        reads.reads <= reads.ttlPeriods &&
        (reads.minSecondsBetweenReads === null || reads.minSecondsBetweenReads >= reads.ttlSeconds),
    },
    {
      measure: '   stream simulated',
      result:
        `${reads.simulatedMinutes.toFixed(0)} min at ${reads.recordsPerSecond} records/s on ` +
        `${reads.partitions} partitions: ${reads.ttlPeriods} TTL periods of ${reads.ttlSeconds} s`,
    },
    {
      measure: '   read gaps and cost',
      result:
        `shortest gap ${reads.minSecondsBetweenReads === null ? 'n/a' : `${reads.minSecondsBetweenReads.toFixed(0)} s`}; ` +
        `one read of ${reads.entries} entries takes ${reads.readMs.toFixed(1)} ms`,
    },
    {
      measure: '   stream without invitations',
      result: `${reads.readsWithoutInvitations} reads for ${reads.recordsWithoutInvitations} records`,
      target: '0',
      met: reads.readsWithoutInvitations === 0,
    },
    {
      measure: '5. scan --format ndjson',
      result:
        `${Math.round(scan.recordsPerSecond)} records/s, ${scan.megabytesPerSecond.toFixed(0)} MB/s ` +
        `(${(scan.fileMegabytes / 1000).toFixed(2)} GB, ${scan.records} records, ` +
        `${scan.seconds.toFixed(1)} s, ${scan.alerts} alerts)`,
    },
    {
      measure: '   scan peak RSS',
      result: `${scan.peakRssMb.toFixed(0)} MB (${scan.rssSource})`,
      target: `< ${TARGETS.scanPeakRssMb} MB`,
      met: scan.peakRssMb < TARGETS.scanPeakRssMb,
    },
    {
      measure: '   readline + JSON.parse alone',
      result:
        `${Math.round(scan.floorRecordsPerSecond)} lines/s, peak RSS ` +
        `${scan.floorPeakRssMb.toFixed(0)} MB (scan/floor ` +
        `${(scan.recordsPerSecond / scan.floorRecordsPerSecond).toFixed(2)})`,
    },
    ...coldStart.functions.map((loaded): BenchRow => ({
      measure: `6. Load functions/${loaded.name}`,
      result:
        loaded.error === undefined
          ? `${loaded.medianMs.toFixed(0)} ms median, ${loaded.modules} modules`
          : `failed to load: ${loaded.error}`,
    })),
    {
      measure: '   Load all function modules',
      result: `${coldStart.all.medianMs.toFixed(0)} ms median of ${coldStart.repetitions}, ${coldStart.all.modules} modules`,
    },
  ];

  process.stdout.write(`${formatBenchTable(rows)}\n`);
  process.stdout.write(
    `${JSON.stringify({
      throughputRatio: round(throughput.throughputRatio, 3),
      p99BatchMs: round(latency.p99Ms, 3),
      allowlistReadsPer10k: round(reads.readsPer10k, 4),
      scanRecordsPerSecond: Math.round(scan.recordsPerSecond),
      scanPeakRssMb: round(scan.peakRssMb, 1),
      coldStartMs: round(coldStart.all.medianMs, 1),
      floorMbPerCpuSecond: round(throughput.floor.megabytesPerCpuSecond, 1),
      pipelineMbPerCpuSecond: round(throughput.pipeline.megabytesPerCpuSecond, 1),
      pipelineRecordsPerCpuSecond: Math.round(throughput.pipeline.recordsPerCpuSecond),
      p50BatchMs: round(latency.p50Ms, 3),
      cpuP99BatchMs: round(latency.cpuP99Ms, 3),
      allowlistReads: reads.reads,
      allowlistTtlPeriods: reads.ttlPeriods,
      allowlistReadsWithoutInvitations: reads.readsWithoutInvitations,
      scanGigabytes: round(scan.fileMegabytes / 1000, 2),
      scanFloorRecordsPerSecond: Math.round(scan.floorRecordsPerSecond),
      quick,
      node: process.version,
    })}\n`,
  );

  return 0;
}

function describeRate(rate: {
  recordsPerCpuSecond: number;
  megabytesPerCpuSecond: number;
  recordsPerSecond: number;
}): string {
  return (
    `${rate.megabytesPerCpuSecond.toFixed(0)} MB/s, ${Math.round(rate.recordsPerCpuSecond)} ` +
    `records/s per CPU second (wall clock ${Math.round(rate.recordsPerSecond)} records/s)`
  );
}

function batchesOf(corpus: AuditCorpus, count: number): CorpusMessage[][] {
  return Array.from({ length: count }, () => corpus.batch(100));
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
