import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { importAllowlist } from '../adminApi/importAllowlist';
import { InvitersApiClient } from '../adminApi/invitersApiClient';
import { localPrincipal } from '../adminApi/localPrincipal';
import { ConfigurationError } from '../configurationError';
import { startLocalApp, type RunningLocalApp } from '../localMode/startLocalApp';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

const DEFAULT_PORT = 7071;
/** Who the --allowlist seeding is recorded as, in the audit table and the notices. */
const SEED_CALLER = 'serve-allowlist-seed@localhost';

const USAGE = `Usage: npm run cli -- serve [--port N] [--allowlist FILE] [--teams URL]... [--webhook URL]...

Runs the app on this machine with no Azure: the admin API (/api/inviters, same
routes and authorisation as in Azure, read from the x-ms-client-principal header;
no function key) and POST /api/ingest, which runs an Event Hubs body
({"records":[...]}, or an array of them) through the detector and answers with
the batch summary. Listens on 127.0.0.1 only, and answers only requests addressed
to 127.0.0.1, localhost or [::1] with its port: ingest asks for no sign-in.
Without TABLES_CONNECTION_STRING or TABLES_ENDPOINT an in-memory Azurite holds
the allowlist until the command stops (Ctrl+C).
  --port N          port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --allowlist FILE  seed the allowlist from a JSON array of entries, through the API
  --teams URL       send alerts and allowlist notices to a Teams Workflows webhook
                    (repeatable; default TEAMS_WEBHOOK_URL)
  --webhook URL     send them as JSON to a webhook (repeatable; default
                    ALERT_WEBHOOK_URL, signed when ALERT_WEBHOOK_SECRET is set)
`;

/** `serve` until Ctrl+C (SIGINT) or SIGTERM. */
export const serveCommand: CliCommand = async (args, io) => {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runServe(args, io, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};

/** `serve` until `stop` aborts; tests drive it with their own signal. */
export async function runServe(args: string[], io: CliIo, stop: AbortSignal): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        port: { type: 'string', default: String(DEFAULT_PORT) },
        allowlist: { type: 'string' },
        teams: { type: 'string', multiple: true },
        webhook: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }

  const { values } = parsed;
  if (values.help === true) {
    io.stderr.write(USAGE);

    return EXIT_OK;
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) {
    return usageError(io, '--port must be a port number from 0 to 65535');
  }

  const env: Record<string, string | undefined> = { ...io.env };
  if (values.teams !== undefined) env.TEAMS_WEBHOOK_URL = values.teams.join(',');
  if (values.webhook !== undefined) env.ALERT_WEBHOOK_URL = values.webhook.join(',');

  let app: RunningLocalApp;
  try {
    if (![env.TABLES_CONNECTION_STRING, env.TABLES_ENDPOINT].some((value) => value?.trim())) {
      io.stderr.write('starting Azurite (in memory) for the allowlist and audit tables...\n');
    }
    app = await startLocalApp({
      port: Number(values.port),
      env,
      log: (line) => io.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      return usageError(io, error.message);
    }
    const code = (error as { code?: unknown }).code;
    io.stderr.write(
      code === 'EADDRINUSE'
        ? `error: port ${values.port} is in use; choose another with --port\n`
        : `error: local mode did not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );

    return EXIT_FAILURE;
  }

  try {
    io.stdout.write(describeApp(app));
    if (app.sharedStorage) {
      io.stderr.write(
        `warning: the allowlist is in ${app.storage}, not an Azurite on this machine, and local ` +
          'mode trusts the x-ms-client-principal header as it comes: anyone on this machine ' +
          '(any user or process that can reach the port) can change that allowlist, naming ' +
          'any caller and role. Stop serve when you are done.\n',
      );
    }
    if (values.allowlist !== undefined && !(await seedAllowlist(values.allowlist, app, io))) {
      return EXIT_FAILURE;
    }
    io.stdout.write('Ready. Press Ctrl+C to stop.\n');

    await new Promise<void>((resolve) => {
      if (stop.aborted) {
        resolve();
      } else {
        stop.addEventListener('abort', () => resolve(), { once: true });
      }
    });
    io.stderr.write('stopping...\n');

    return EXIT_OK;
  } finally {
    await app.stop();
  }
}

function describeApp(app: RunningLocalApp): string {
  const destinations =
    app.destinations.length === 0
      ? 'none (set TEAMS_WEBHOOK_URL / ALERT_WEBHOOK_URL or pass --teams / --webhook; alerts are still logged)'
      : app.destinations.join(', ');

  return [
    `Local mode: listening on ${app.url} (this machine only)`,
    `  Admin API:  ${app.url}/api/inviters`,
    '              callers are read from x-ms-client-principal, as App Service Authentication',
    '              would set it (roles Inviters.Read / Inviters.ReadWrite); no function key locally',
    `  Ingest:     POST ${app.url}/api/ingest  (Event Hubs body; local only, no sign-in)`,
    `  Allowlist:  ${app.storage}`,
    `  Alerts and allowlist notices go to: ${destinations}`,
    `  Alerts a destination refused are retried every ${app.redeliveryIntervalMs / 1000} s ` +
      '(LOCAL_REDELIVERY_INTERVAL_SECONDS)',
    '',
  ].join('\n');
}

/** Seeds through the API itself, so the seed is validated, recorded and announced too. */
async function seedAllowlist(file: string, app: RunningLocalApp, io: CliIo): Promise<boolean> {
  let document: unknown;
  try {
    document = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    io.stderr.write(
      `error: --allowlist ${file}: ${code === 'ENOENT' ? 'no such file' : error instanceof SyntaxError ? 'not valid JSON' : 'cannot be read'}\n`,
    );

    return false;
  }

  const client = new InvitersApiClient({
    baseUrl: app.url,
    principal: localPrincipal(SEED_CALLER),
  });
  try {
    const report = await importAllowlist(document, client, new Date(), (line) =>
      io.stderr.write(`  ${line}\n`),
    );
    io.stdout.write(
      `Seeded the allowlist from ${file}: ${report.imported} entries` +
        (report.skipped.length > 0 ? `, ${report.skipped.length} expired skipped` : '') +
        (report.failed.length > 0 ? `, ${report.failed.length} refused (see above)` : '') +
        '\n',
    );

    return report.failed.length === 0;
  } catch (error) {
    io.stderr.write(
      `error: --allowlist ${file}: ${error instanceof Error ? error.message : String(error)}\n`,
    );

    return false;
  }
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\n\n${USAGE}`);

  return EXIT_USAGE;
}
