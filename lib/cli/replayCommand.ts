import { parseArgs } from 'node:util';

import { decodeEventBody, elementsOf } from '../auditInput';
import { ConfigurationError } from '../configurationError';
import { createDetectorRuntime, type DetectorRuntime } from '../detectorRuntime';
import { detectInvitations } from '../detectInvitations';
import type { RedeliveryReport } from '../redeliverPendingAlerts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

const USAGE = `Usage: npm run cli -- replay records|alerts|pending [--limit N] [--dry-run]

Replays what the detector set aside, from the Table Storage tables of the settings
(TABLES_CONNECTION_STRING or TABLES_ENDPOINT, DEAD_LETTER_TABLE, ALERT_OUTBOX_TABLE).
  records   runs dead-lettered input records through the rule again (after the reader
            was fixed, or the record corrected in the table). Their alerts go through
            the outbox, so an alert sent before is not sent again. A record that is
            still unreadable is left as it is; one cut at 32 000 bytes cannot be replayed.
  alerts    makes alerts that expired undelivered pending again, with a fresh age
            limit, and runs one redelivery pass (fix the destination first).
  pending   makes every pending alert due now and runs one redelivery pass, instead
            of waiting for its backoff (after a destination was fixed).
  --limit N   at most N items (default 1000)
  --dry-run   list what would be replayed; change and send nothing
Exit status: 0 when done (see the counts), 1 when storage failed, 2 for a usage error.
`;

export const replayCommand: CliCommand = async (args, io) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        limit: { type: 'string', default: '1000' },
        'dry-run': { type: 'boolean', default: false },
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
  const [what, ...extra] = positionals;
  if (what !== 'records' && what !== 'alerts' && what !== 'pending') {
    return usageError(io, 'say what to replay: records, alerts or pending');
  }
  if (extra.length > 0) {
    return usageError(io, `unexpected argument "${extra[0]}"`);
  }
  if (!/^\d{1,6}$/.test(values.limit) || Number(values.limit) < 1) {
    return usageError(io, '--limit must be a whole number from 1 to 999999');
  }

  let runtime: DetectorRuntime;
  try {
    runtime = createDetectorRuntime(io.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      return usageError(io, error.message);
    }
    throw error;
  }
  if (runtime.outbox === undefined || runtime.deadLetters === undefined) {
    return usageError(io, 'set TABLES_CONNECTION_STRING or TABLES_ENDPOINT: replay reads tables');
  }

  const limit = Number(values.limit);
  const dryRun = values['dry-run'];
  try {
    switch (what) {
      case 'records':
        return await replayRecords(runtime, limit, dryRun, io);
      case 'alerts':
        return await replayAlerts(runtime, limit, dryRun, io);
      case 'pending':
        return await replayPending(runtime, limit, dryRun, io);
    }
  } catch (error) {
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);

    return EXIT_FAILURE;
  }
};

async function replayRecords(
  runtime: DetectorRuntime,
  limit: number,
  dryRun: boolean,
  io: CliIo,
): Promise<number> {
  const deadLetters = runtime.deadLetters!;
  const letters = await deadLetters.list('record', limit);
  let replayed = 0;
  let stillUnreadable = 0;
  let truncated = 0;
  let alerts = 0;

  for (const letter of letters) {
    if (letter.rawTruncated) {
      truncated += 1;
      io.stderr.write(`skipped ${letter.where}: only the first 32 000 bytes were kept\n`);
      continue;
    }

    const elements = [...elementsOf(decodeEventBody(letter.rawText), letter.where)];
    const detection = await detectInvitations(elements, runtime.allowlist, new Date());
    if (detection.problems.length > 0) {
      stillUnreadable += 1;
      io.stderr.write(
        `still unreadable ${letter.where}: ${detection.problems[0]!.reason.slice(0, 200)}\n`,
      );
      continue;
    }

    alerts += detection.alerts.length;
    if (dryRun) {
      io.stdout.write(`would replay ${letter.where}: ${detection.alerts.length} alert(s)\n`);
      continue;
    }
    const report = await runtime.sink.send(detection.alerts);
    if (report.retryableError !== undefined) {
      throw report.retryableError;
    }
    await deadLetters.markReplayed(letter, new Date());
    replayed += 1;
    io.stdout.write(
      `replayed ${letter.where}: ${detection.alerts.length} alert(s), ${report.delivered} delivered, ${report.duplicates ?? 0} sent before\n`,
    );
  }

  io.stdout.write(
    `${dryRun ? 'dry run: ' : ''}${letters.length} dead-lettered record(s): ${dryRun ? 'would replay' : 'replayed'} ${dryRun ? letters.length - stillUnreadable - truncated : replayed}, ` +
      `${stillUnreadable} still unreadable, ${truncated} cut too short to replay; ${alerts} alert(s)\n`,
  );

  return EXIT_OK;
}

async function replayAlerts(
  runtime: DetectorRuntime,
  limit: number,
  dryRun: boolean,
  io: CliIo,
): Promise<number> {
  const outbox = runtime.outbox!;
  const dead = await outbox.listByStatus('dead', limit);
  if (dryRun) {
    for (const delivery of dead) {
      io.stdout.write(`would reopen alert ${delivery.alertId} for ${delivery.destination}\n`);
    }
    io.stdout.write(`dry run: ${dead.length} expired delivery(ies) would be reopened\n`);

    return EXIT_OK;
  }

  const now = new Date();
  const reopened = new Set<string>();
  for (const delivery of dead) {
    if ((await outbox.reopen(delivery, now)) !== undefined) {
      reopened.add(delivery.alertId);
    }
  }
  for (const letter of await runtime.deadLetters!.list('alert', limit)) {
    if (reopened.has(letter.alertId)) {
      await runtime.deadLetters!.markReplayed(letter, now);
    }
  }
  io.stdout.write(`reopened ${reopened.size} alert(s); redelivering...\n`);

  return printRedelivery(await runtime.redeliver(), io);
}

async function replayPending(
  runtime: DetectorRuntime,
  limit: number,
  dryRun: boolean,
  io: CliIo,
): Promise<number> {
  const outbox = runtime.outbox!;
  const pending = await outbox.listByStatus('pending', limit);
  if (dryRun) {
    for (const delivery of pending) {
      io.stdout.write(
        `would send alert ${delivery.alertId} to ${delivery.destination} (attempts ${delivery.attempts}, next ${delivery.nextAttemptAt})\n`,
      );
    }
    io.stdout.write(`dry run: ${pending.length} pending delivery(ies)\n`);

    return EXIT_OK;
  }

  const now = new Date();
  for (const delivery of pending) {
    // A delivery an instance is sending right now is left to it.
    const leased = delivery.leasedUntil !== '' && Date.parse(delivery.leasedUntil) > now.getTime();
    if (!leased) {
      await outbox.postpone(delivery, now);
    }
  }

  return printRedelivery(await runtime.redeliver(), io);
}

function printRedelivery(report: RedeliveryReport, io: CliIo): number {
  for (const failure of report.failures) {
    io.stderr.write(`failed: ${failure}\n`);
  }
  io.stdout.write(
    `redelivery: ${report.due} due, ${report.delivered} delivered, ${report.failed} failed ` +
      `(still pending), ${report.postponed} postponed, ${report.expired.length} expired\n`,
  );

  return report.storageErrors.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\n\n${USAGE}`);

  return EXIT_USAGE;
}
