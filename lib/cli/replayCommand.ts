import { parseArgs } from 'node:util';

import { destinationKey, type AlertOutbox, type OutboxDelivery } from '../alertOutbox';
import { decodeEventBody, elementsOf } from '../auditInput';
import { ConfigurationError } from '../configurationError';
import type { Destination, DestinationKind } from '../destination';
import { createDetectorRuntime, type DetectorRuntime } from '../detectorRuntime';
import { detectInvitations } from '../detectInvitations';
import type { RedeliveryReport } from '../redeliverPendingAlerts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

const USAGE = `Usage: npm run cli -- replay records|alerts|pending [--retarget] [--limit N] [--dry-run]

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
  --retarget  with pending: first moves pending alerts for a URL no longer configured
            (a regenerated Teams Workflows URL) to the configured URL of the same kind;
            refused when that kind has no configured URL or more than one.
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
        retarget: { type: 'boolean', default: false },
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
  if (values.retarget && what !== 'pending') {
    return usageError(io, '--retarget goes with replay pending only');
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
        return await replayPending(runtime, limit, dryRun, values.retarget, io);
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
  retarget: boolean,
  io: CliIo,
): Promise<number> {
  const outbox = runtime.outbox!;
  let pending = await outbox.listByStatus('pending', limit);
  if (retarget) {
    const plan = planRetarget(pending, runtime.settings.destinations);
    if (plan.refusals.length > 0) {
      return usageError(io, plan.refusals.join('; '));
    }
    pending = await retargetPending(outbox, pending, plan.targets, dryRun, io);
  }
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
    if (!isLeased(delivery, now)) {
      await outbox.postpone(delivery, now);
    }
  }

  return printRedelivery(await runtime.redeliver(), io);
}

interface RetargetPlan {
  /** The configured destination each destination key no longer configured moves to. */
  targets: Map<string, Destination>;
  /** Why some cannot move; when there is any, nothing moves. */
  refusals: string[];
}

const SETTING_OF_KIND: Record<DestinationKind, string> = {
  teams: 'TEAMS_WEBHOOK_URL',
  webhook: 'ALERT_WEBHOOK_URL',
};

/**
 * Pending deliveries whose destination key matches no configured URL go to the configured
 * URL of the same kind, when there is exactly one: the URL that replaced theirs. With none
 * or several there is no telling which, and the operator is told why.
 */
function planRetarget(pending: OutboxDelivery[], destinations: Destination[]): RetargetPlan {
  const configured = new Set(destinations.map(destinationKey));
  const strandedByKind = new Map<DestinationKind, Set<string>>();
  for (const delivery of pending) {
    const kind = kindOfKey(delivery.destinationKey);
    if (!configured.has(delivery.destinationKey) && kind !== undefined) {
      strandedByKind.set(
        kind,
        (strandedByKind.get(kind) ?? new Set()).add(delivery.destinationKey),
      );
    }
  }

  const plan: RetargetPlan = { targets: new Map(), refusals: [] };
  for (const [kind, keys] of strandedByKind) {
    const candidates = destinations.filter((destination) => destination.kind === kind);
    if (candidates.length === 1) {
      keys.forEach((key) => plan.targets.set(key, candidates[0]!));
      continue;
    }
    plan.refusals.push(
      candidates.length === 0
        ? `cannot retarget pending ${kind} alerts: ${SETTING_OF_KIND[kind]} configures no ${kind} URL to move them to`
        : `cannot retarget pending ${kind} alerts: ${SETTING_OF_KIND[kind]} configures ${candidates.length} ${kind} URLs (${candidates.map((destination) => destination.label).join(', ')}), so which one replaced theirs is unclear; run it with only that URL configured`,
    );
  }

  return plan;
}

/** Moves the stranded deliveries; answers the pending deliveries as they are afterwards. */
async function retargetPending(
  outbox: AlertOutbox,
  pending: OutboxDelivery[],
  targets: Map<string, Destination>,
  dryRun: boolean,
  io: CliIo,
): Promise<OutboxDelivery[]> {
  const now = new Date();
  const after: OutboxDelivery[] = [];
  let moved = 0;
  let left = 0;
  for (const delivery of pending) {
    const target = targets.get(delivery.destinationKey);
    if (target === undefined) {
      after.push(delivery);
      continue;
    }
    const from = `${delivery.destination} (a URL no longer configured)`;
    if (dryRun) {
      io.stdout.write(`would move alert ${delivery.alertId} from ${from} to ${target.label}\n`);
      moved += 1;
      continue;
    }
    const retargeted = isLeased(delivery, now)
      ? undefined
      : await outbox.retarget(delivery, target, now);
    if (retargeted === undefined) {
      // Being sent right now, changed by another worker, or already held for the new URL.
      left += 1;
      io.stderr.write(`left alert ${delivery.alertId} for ${from}: it changed meanwhile\n`);
      continue;
    }
    moved += 1;
    after.push(retargeted);
  }

  io.stdout.write(
    `${dryRun ? 'dry run: would retarget' : 'retargeted'} ${moved} pending delivery(ies)${left > 0 ? `, left ${left}` : ''}\n`,
  );

  return after;
}

/** A delivery an instance is sending right now is left to it. */
function isLeased(delivery: OutboxDelivery, now: Date): boolean {
  return delivery.leasedUntil !== '' && Date.parse(delivery.leasedUntil) > now.getTime();
}

/** Keys are `<kind>-<digest>` (see destinationKey). */
function kindOfKey(key: string): DestinationKind | undefined {
  const kind = key.slice(0, key.lastIndexOf('-'));

  return kind === 'teams' || kind === 'webhook' ? kind : undefined;
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
