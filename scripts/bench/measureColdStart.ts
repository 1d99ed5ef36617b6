import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { median } from './benchStatistics';

export interface ModuleLoadResult {
  /** `all` for every function module in one process, as the host loads the app. */
  name: string;
  medianMs: number;
  /** Modules in node's require cache after loading: the footprint paid at start-up. */
  modules: number;
  error?: string;
}

export interface ColdStartResult {
  repetitions: number;
  functions: ModuleLoadResult[];
  all: ModuleLoadResult;
}

/**
 * App settings as in Azure, with dummy values: identity-based Table Storage and Event Hubs,
 * no secrets. Loading the modules must not contact any of them.
 */
export const DUMMY_APP_SETTINGS: Record<string, string> = {
  FUNCTIONS_WORKER_RUNTIME: 'node',
  AUDIT_EVENTHUB_NAME: 'entra-audit-logs',
  AUDIT_EVENTHUB_CONSUMER_GROUP: 'guest-invite-detector',
  AuditEventHub__fullyQualifiedNamespace: 'bench-namespace.servicebus.windows.net',
  AzureWebJobsStorage__accountName: 'benchstorage',
  TABLES_ENDPOINT: 'https://benchstorage.table.core.windows.net/',
  ALLOWLIST_CACHE_TTL_SECONDS: '60',
};

/** Times `require` of the given modules inside a fresh node; prints one JSON line. */
const LOAD_SCRIPT = `
const modules = JSON.parse(process.argv[1]);
const start = process.hrtime.bigint();
for (const module of modules) require(module);
const milliseconds = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(JSON.stringify({ milliseconds, modules: Object.keys(require.cache).length }));
`;

/**
 * The cost of a cold start that the app controls: loading its modules. Each function module
 * is loaded alone and then all together, each in a fresh process, several times.
 */
export async function measureColdStart(
  repoRoot: string,
  repetitions: number,
): Promise<ColdStartResult> {
  const names = readdirSync(join(repoRoot, 'functions'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -'.ts'.length))
    .filter((name) => existsSync(compiledPath(repoRoot, name)))
    .sort();

  const functions: ModuleLoadResult[] = [];
  for (const name of names) {
    functions.push(
      await loadRepeatedly(repoRoot, name, [compiledPath(repoRoot, name)], repetitions),
    );
  }
  const loadable = names.filter((_, index) => functions[index]?.error === undefined);
  const all = await loadRepeatedly(
    repoRoot,
    'all',
    loadable.map((name) => compiledPath(repoRoot, name)),
    repetitions,
  );

  return { repetitions, functions, all };
}

function compiledPath(repoRoot: string, name: string): string {
  return join(repoRoot, 'dist', 'functions', `${name}.js`);
}

async function loadRepeatedly(
  repoRoot: string,
  name: string,
  modules: string[],
  repetitions: number,
): Promise<ModuleLoadResult> {
  const times: number[] = [];
  let moduleCount = 0;
  for (let repetition = 0; repetition < repetitions; repetition += 1) {
    const run = await loadOnce(repoRoot, modules);
    if ('error' in run) {
      return { name, medianMs: Number.NaN, modules: 0, error: run.error };
    }
    times.push(run.milliseconds);
    moduleCount = run.modules;
  }

  return { name, medianMs: median(times), modules: moduleCount };
}

async function loadOnce(
  repoRoot: string,
  modules: string[],
): Promise<{ milliseconds: number; modules: number } | { error: string }> {
  const child = spawn(process.execPath, ['-e', LOAD_SCRIPT, JSON.stringify(modules)], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...DUMMY_APP_SETTINGS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (exitCode !== 0) {
    const firstError = stderr.split('\n').find((line) => /Error/.test(line)) ?? stderr;

    return { error: `exit ${exitCode}: ${firstError.trim().slice(0, 200)}` };
  }

  return JSON.parse(stdout) as { milliseconds: number; modules: number };
}
