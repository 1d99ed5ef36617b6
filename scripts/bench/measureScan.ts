import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { AuditCorpus } from './auditCorpus';

export interface ScanResult {
  fileMegabytes: number;
  lines: number;
  generateSeconds: number;
  /** What scan itself said it read. */
  records: number;
  invitations: number;
  alerts: number;
  seconds: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  peakRssMb: number;
  rssSource: string;
  /** The same file read line by line with `JSON.parse` and nothing else, in a child process. */
  floorRecordsPerSecond: number;
  floorPeakRssMb: number;
}

const TIME_BINARY = '/usr/bin/time';
const FLUSH_BYTES = 4 * 1024 * 1024;

/** Reads the file as scan does (readline, trim, JSON.parse) and does nothing else. */
const FLOOR_SCRIPT = `
const lines = require('node:readline').createInterface({
  input: require('node:fs').createReadStream(process.argv[1]),
  crlfDelay: Infinity,
});
let parsed = 0;
(async () => {
  for await (const line of lines) {
    const trimmed = line.trim();
    if (trimmed !== '' && JSON.parse(trimmed) !== null) parsed += 1;
  }
  process.stderr.write('parsed ' + parsed + ' lines\\n');
})();
`;

/**
 * Writes an NDJSON export of at least `bytes` (streaming, a few MB in memory at a time),
 * then runs `scan --format ndjson` on it as a child process and reads its peak resident
 * memory: from /usr/bin/time -v when it exists, else by polling /proc/<pid>/status VmHWM.
 */
export async function measureScan(
  corpus: AuditCorpus,
  options: { bytes: number; directory: string; repoRoot: string },
): Promise<ScanResult> {
  const file = join(options.directory, 'audit-export.ndjson');
  const allowlistFile = join(options.directory, 'allowlist.json');
  writeFileSync(allowlistFile, JSON.stringify(corpus.allowlist));

  const generateStart = performance.now();
  const written = writeExport(corpus, file, options.bytes);
  const generateSeconds = (performance.now() - generateStart) / 1000;

  const scanRun = await runMeasured(
    [
      join(options.repoRoot, 'dist', 'lib', 'cli', 'main.js'),
      'scan',
      '--format',
      'ndjson',
      '--allowlist',
      allowlistFile,
      file,
    ],
    options.repoRoot,
  );
  const summary = /scanned (\d+) records: (\d+) invitations, \d+ approved, (\d+) alerts/.exec(
    scanRun.stderr,
  );
  if (scanRun.exitCode !== 0 || summary === null) {
    throw new Error(`scan failed (exit ${scanRun.exitCode}): ${scanRun.stderr.slice(-1000)}`);
  }
  const records = Number(summary[1]);

  const floorRun = await runMeasured(['-e', FLOOR_SCRIPT, file], options.repoRoot);
  if (floorRun.exitCode !== 0) {
    throw new Error(`the parse floor failed: ${floorRun.stderr.slice(-1000)}`);
  }

  return {
    fileMegabytes: written.bytes / 1e6,
    lines: written.lines,
    generateSeconds,
    records,
    invitations: Number(summary[2]),
    alerts: Number(summary[3]),
    seconds: scanRun.seconds,
    recordsPerSecond: records / scanRun.seconds,
    megabytesPerSecond: written.bytes / 1e6 / scanRun.seconds,
    peakRssMb: scanRun.peakRssMb,
    rssSource: scanRun.rssSource,
    floorRecordsPerSecond: written.lines / floorRun.seconds,
    floorPeakRssMb: floorRun.peakRssMb,
  };
}

function writeExport(
  corpus: AuditCorpus,
  file: string,
  bytes: number,
): { bytes: number; lines: number } {
  const descriptor = openSync(file, 'w');
  let total = 0;
  let lines = 0;
  try {
    let pending: string[] = [];
    let pendingBytes = 0;
    while (total + pendingBytes < bytes) {
      const { line } = corpus.nextLine();
      pending.push(line);
      pendingBytes += Buffer.byteLength(line) + 1;
      lines += 1;
      if (pendingBytes >= FLUSH_BYTES) {
        writeSync(descriptor, `${pending.join('\n')}\n`);
        total += pendingBytes;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) {
      writeSync(descriptor, `${pending.join('\n')}\n`);
      total += pendingBytes;
    }
  } finally {
    closeSync(descriptor);
  }

  return { bytes: total, lines };
}

interface MeasuredRun {
  exitCode: number | null;
  seconds: number;
  peakRssMb: number;
  rssSource: string;
  stderr: string;
}

/** Runs node with these arguments; stdout is counted away, the end of stderr kept. */
async function runMeasured(nodeArgs: string[], cwd: string): Promise<MeasuredRun> {
  const useTime = existsSync(TIME_BINARY);
  const command = useTime ? TIME_BINARY : process.execPath;
  const args = useTime ? ['-v', process.execPath, ...nodeArgs] : nodeArgs;
  // No TABLES_* or webhook settings reach the child: the run must not leave this machine.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

  const start = performance.now();
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-64 * 1024);
  });

  let polledKb = 0;
  const poller = useTime
    ? undefined
    : setInterval(() => {
        polledKb = Math.max(polledKb, readHighWaterMarkKb(child.pid));
      }, 20);

  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const seconds = (performance.now() - start) / 1000;
  if (poller !== undefined) {
    clearInterval(poller);
  }

  const reported = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const peakKb = useTime ? Number(reported?.[1] ?? NaN) : polledKb;

  return {
    exitCode,
    seconds,
    peakRssMb: peakKb / 1024,
    rssSource: useTime ? '/usr/bin/time -v' : '/proc/<pid>/status VmHWM, polled every 20 ms',
    stderr,
  };
}

function readHighWaterMarkKb(pid: number | undefined): number {
  if (pid === undefined) {
    return 0;
  }
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');

    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  } catch {
    // The process has ended between two polls; its last reading stands.
    return 0;
  }
}
