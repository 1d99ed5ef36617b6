import { destinationKey } from '../alertOutbox';
import type { DeliveryOptions } from '../deliverNotification';
import type { Destination } from '../destination';
import type { OperatorLog } from '../logRedeliveryReport';
import { isChangedByAnother } from '../tableErrorStatus';
import type { TeamsRateLimiter } from '../teamsRateLimiter';
import { DestinationChangeNotifier } from './allowlistChangeNotifier';
import type { NoticeState, OwedNotice, TableAllowlistAuditLog } from './tableAllowlistAuditLog';

export interface ChangeNoticeRetryOptions {
  auditLog: TableAllowlistAuditLog;
  /** The destinations configured now; keys owed to others are dropped. */
  destinations: Destination[];
  delivery: DeliveryOptions;
  teamsLimiter: TeamsRateLimiter;
  /** The alert age limit: a notice older than this is given up. */
  maxAgeMs: number;
  now: () => Date;
  log: OperatorLog;
}

export interface ChangeNoticeRetryReport {
  /** Audit records that owed a notice when the pass began. */
  owed: number;
  /** Records whose notice every destination now has. */
  settled: number;
  /** Records still owing their notice somewhere. */
  stillOwed: number;
  expired: number;
}

/**
 * One pass over the change notices the audit table says are still owed: each is rebuilt from
 * its audit record and sent again to the destinations that have not taken it. Each record is
 * updated on its ETag, so a pass running elsewhere at the same time costs at most a duplicate
 * notice (receivers can de-duplicate on its webhook-id). Storage failures are thrown.
 */
export async function retryChangeNotices(
  options: ChangeNoticeRetryOptions,
): Promise<ChangeNoticeRetryReport> {
  const { owed, problems } = await options.auditLog.listOwedNotices();
  for (const problem of problems) {
    options.log.error(`Change notice cannot be rebuilt from its audit record: ${problem}`);
  }

  const report: ChangeNoticeRetryReport = {
    owed: owed.length,
    settled: 0,
    stillOwed: 0,
    expired: 0,
  };
  // A destination that fails once is not asked again in this pass: with many notices owed to
  // a dead destination, the pass would otherwise spend a timeout on each of them.
  const failedThisPass = new Set<string>();
  for (const notice of owed) {
    const state = await retryOne(notice, options, failedThisPass);
    if (state === 'expired') {
      report.expired += 1;
    } else if (state.pending.length === 0) {
      report.settled += 1;
    } else {
      report.stillOwed += 1;
    }
  }

  return report;
}

async function retryOne(
  notice: OwedNotice,
  options: ChangeNoticeRetryOptions,
  failedThisPass: Set<string>,
): Promise<NoticeState | 'expired'> {
  const { change, state } = notice;
  const ageMs = options.now().getTime() - Date.parse(change.changedAt);
  if (ageMs > options.maxAgeMs) {
    options.log.error(
      JSON.stringify({
        event: 'notice-expired',
        auditRecord: change.id,
        inviter: change.inviter,
        action: change.action,
        changedAt: change.changedAt,
        pending: state.pending,
        attempts: state.attempts,
      }),
    );
    await recordState(notice, { ...state, pending: [] }, options);

    return 'expired';
  }

  const configured = new Map(
    options.destinations.map((destination) => [destinationKey(destination), destination]),
  );
  const gone = state.pending.filter((key) => !configured.has(key));
  if (gone.length > 0) {
    options.log.warn(
      `Change notice ${change.id} is no longer sent to ${gone.join(', ')}: ` +
        'those destinations are not configured any more.',
    );
  }
  const targets = state.pending.flatMap((key) =>
    failedThisPass.has(key) ? [] : (configured.get(key) ?? []),
  );
  const skipped = state.pending.filter((key) => failedThisPass.has(key) && configured.has(key));

  const outcome =
    targets.length === 0
      ? { undelivered: [], failures: [] }
      : await new DestinationChangeNotifier(
          targets,
          options.delivery,
          options.teamsLimiter,
        ).announce(change);
  for (const failure of outcome.failures) {
    options.log.warn(`Allowlist change notice ${change.id} not delivered again: ${failure}`);
  }
  outcome.undelivered.forEach((key) => failedThisPass.add(key));

  const next: NoticeState = {
    pending: [...outcome.undelivered, ...skipped],
    attempts: state.attempts + (targets.length === 0 ? 0 : 1),
    lastError: outcome.failures.length === 0 ? state.lastError : outcome.failures.join('; '),
  };
  await recordState(notice, next, options);

  return next;
}

/** A record another pass changed first is left to it; that pass may have sent a duplicate. */
async function recordState(
  notice: OwedNotice,
  next: NoticeState,
  options: ChangeNoticeRetryOptions,
): Promise<void> {
  try {
    await options.auditLog.recordNoticeState(notice.change, notice.etag, next);
  } catch (error) {
    if (!isChangedByAnother(error)) {
      throw error;
    }
    options.log.warn(
      `Change notice state of audit record ${notice.change.id} was changed by another pass; ` +
        'left as that pass recorded it.',
    );
  }
}
