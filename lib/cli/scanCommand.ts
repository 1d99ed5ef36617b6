import { parseArgs } from 'node:util';

import type { Alert } from '../alert';
import { DirectAlertSink, type AlertSink } from '../alertSink';
import type { LocatedElement } from '../auditInput';
import { StaticAllowlist, type AllowlistProvider } from '../cachedAllowlist';
import { ConfigurationError } from '../configurationError';
import { parseDestinations } from '../destination';
import {
  addSummaries,
  detectInvitations,
  emptySummary,
  type AlertedIds,
} from '../detectInvitations';
import { createDetectorRuntime } from '../detectorRuntime';
import { readAllowlistFile } from '../readAllowlistFile';
import { readAuditFile, UnreadableFileError } from '../readAuditFile';
import { EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

const USAGE = `Usage: npm run cli -- scan [--allowlist FILE] [--format ndjson|text]
                          [--teams URL]... [--webhook URL]... FILE...

Reads Entra ID audit records (Event Hubs messages, resource-log records, Graph
directoryAudit objects or list responses, Log Analytics AuditLogs rows or query
responses; JSON or NDJSON; "-" is standard input) and reports guest invitations
by inviters who are not approved. A record seen twice alerts once.
  --allowlist FILE  JSON array of entries: [{"inviter": "alice@contoso.com"}]
                    (default: the Table Storage allowlist when TABLES_* is set,
                    otherwise an empty allowlist)
  --format ndjson   one alert JSON per line on stdout, nothing else (default: text)
  --teams URL       also post alerts to a Teams Workflows webhook (repeatable)
  --webhook URL     also post alerts as JSON, signed when ALERT_WEBHOOK_SECRET is set
Exit status: 0 when the scan completed (alerts or not), 2 for a usage error or an
unreadable file.
`;

/** Elements are evaluated in chunks: one allowlist lookup per chunk, bounded memory. */
const CHUNK_SIZE = 1000;
const MAX_PROBLEMS_SHOWN = 50;

/**
 * Alert ids already emitted stay remembered across chunks and files, so a record that comes
 * twice in a long export alerts once. The cap bounds memory: an id held in a Set takes about
 * 130 bytes (measured on Node 20), some 130 MB at the cap. Ids after it are not remembered,
 * and a later repeat of one of those alerts again.
 */
const MAX_REMEMBERED_ALERT_IDS = 1_000_000;

export const scanCommand: CliCommand = async (args, io) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        allowlist: { type: 'string' },
        format: { type: 'string', default: 'text' },
        teams: { type: 'string', multiple: true },
        webhook: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }

  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stderr.write(USAGE);

    return EXIT_OK;
  }
  if (values.format !== 'ndjson' && values.format !== 'text') {
    return usageError(io, `--format must be ndjson or text, not "${values.format}"`);
  }
  if (positionals.length === 0) {
    return usageError(io, 'name at least one FILE to scan, or - for standard input');
  }

  let allowlist: AllowlistProvider;
  let sink: AlertSink;
  try {
    ({ allowlist, sink } = await prepare(values, io));
  } catch (error) {
    if (error instanceof ConfigurationError || error instanceof UnreadableFileError) {
      return usageError(io, error.message);
    }
    throw error;
  }

  const format = values.format;
  const summary = emptySummary();
  let problemsShown = 0;
  let unreadableFiles = 0;
  let delivered = 0;
  let deliveryFailures = 0;
  const emittedAlertIds = new Set<string>();
  let duplicates = 0;

  let rememberingStopped = false;
  const alerted: AlertedIds = {
    has: (alertId) => emittedAlertIds.has(alertId),
    add: (alertId) => {
      if (emittedAlertIds.size < MAX_REMEMBERED_ALERT_IDS) {
        emittedAlertIds.add(alertId);

        return;
      }
      if (!rememberingStopped) {
        rememberingStopped = true;
        io.stderr.write(
          `remembered ${MAX_REMEMBERED_ALERT_IDS} alert ids; later alerts are not checked for repeats\n`,
        );
      }
    },
  };

  const evaluate = async (chunk: LocatedElement[]): Promise<void> => {
    const result = await detectInvitations(chunk, allowlist, new Date(), alerted);
    addSummaries(summary, result.summary);
    for (const problem of result.problems) {
      if (problemsShown < MAX_PROBLEMS_SHOWN) {
        io.stderr.write(`skipped ${problem.where}: ${problem.reason}\n`);
      }
      problemsShown += 1;
    }
    if (result.allowlistError !== undefined) {
      io.stderr.write(`allowlist unavailable, every invitation alerts: ${result.allowlistError}\n`);
    }
    duplicates += result.repeated;
    for (const alert of result.alerts) {
      await write(io, format === 'ndjson' ? `${JSON.stringify(alert)}\n` : describeAlert(alert));
    }
    const report = await sink.send(result.alerts);
    delivered += report.delivered;
    deliveryFailures += report.failed;
    for (const failure of report.failures) {
      io.stderr.write(`delivery failed: ${failure}\n`);
    }
  };

  for (const file of positionals) {
    let chunk: LocatedElement[] = [];
    try {
      for await (const element of readAuditFile(file, io.stdin)) {
        chunk.push(element);
        if (chunk.length >= CHUNK_SIZE) {
          await evaluate(chunk);
          chunk = [];
        }
      }
    } catch (error) {
      if (!(error instanceof UnreadableFileError)) {
        throw error;
      }
      unreadableFiles += 1;
      io.stderr.write(`error: ${error.message}\n`);
    }
    // What was read before a file proved unreadable (a line over the size cap) still counts.
    await evaluate(chunk);
  }

  if (problemsShown > MAX_PROBLEMS_SHOWN) {
    io.stderr.write(`... and ${problemsShown - MAX_PROBLEMS_SHOWN} more unreadable records\n`);
  }
  io.stderr.write(
    `scanned ${summary.records} records: ${summary.invitations} invitations, ` +
      `${summary.approved} approved, ${summary.alerts} alerts, ${summary.unreadable} unreadable, ` +
      `${summary.ignored} of other categories, ${duplicates} duplicates skipped` +
      (delivered + deliveryFailures > 0
        ? `; ${delivered} deliveries made, ${deliveryFailures} failed`
        : '') +
      '\n',
  );

  return unreadableFiles > 0 ? EXIT_USAGE : EXIT_OK;
};

async function prepare(
  values: { allowlist?: string; teams?: string[]; webhook?: string[] },
  io: CliIo,
): Promise<{ allowlist: AllowlistProvider; sink: AlertSink }> {
  const runtime = createDetectorRuntime(io.env);
  const { settings } = runtime;
  const destinations = [
    ...settings.destinations,
    ...parseDestinations('--teams', (values.teams ?? []).join(' '), 'teams'),
    ...parseDestinations(
      '--webhook',
      (values.webhook ?? []).join(' '),
      'webhook',
      io.env.ALERT_WEBHOOK_SECRET?.trim() || undefined,
    ),
  ];
  const sink = new DirectAlertSink(relabel(destinations), settings.delivery);

  if (values.allowlist !== undefined) {
    const entries = await readAllowlistFile(values.allowlist);
    io.stderr.write(`allowlist: ${entries.length} entries from ${values.allowlist}\n`);

    return { allowlist: new StaticAllowlist(entries), sink };
  }
  if (settings.tables !== undefined) {
    io.stderr.write(`allowlist: Table Storage table ${settings.allowlistTable}\n`);

    return { allowlist: runtime.allowlist, sink };
  }

  io.stderr.write(
    'allowlist: none given (--allowlist FILE) and no Table Storage configured, so it is empty: every invitation alerts\n',
  );

  return { allowlist: new StaticAllowlist([]), sink };
}

/** Labels stay unique when settings and flags both name destinations of one kind. */
function relabel<T extends { kind: string; label: string }>(destinations: T[]): T[] {
  const counts = new Map<string, number>();

  return destinations.map((destination) => {
    const count = (counts.get(destination.kind) ?? 0) + 1;
    counts.set(destination.kind, count);

    return { ...destination, label: `${destination.kind}#${count}` };
  });
}

function describeAlert(alert: Alert): string {
  const inviter =
    alert.inviter.userPrincipalName ??
    alert.inviter.appId ??
    alert.inviter.servicePrincipalId ??
    alert.inviter.id ??
    alert.inviter.displayName ??
    'unknown inviter';
  const invitee = alert.invitee.email ?? alert.invitee.userPrincipalName ?? 'unknown invitee';

  return (
    `[${alert.severity.toUpperCase()}] ${alert.time ?? 'time unknown'} ${inviter} invited ${invitee}` +
    ` (${alert.reason}, result ${alert.result ?? 'unknown'}) audit ${alert.auditId}\n`
  );
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\n\n${USAGE}`);

  return EXIT_USAGE;
}

async function write(io: CliIo, text: string): Promise<void> {
  if (!io.stdout.write(text)) {
    await new Promise<void>((resolve) => io.stdout.once('drain', resolve));
  }
}
