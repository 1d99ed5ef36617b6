import { isAlreadyExists } from '../tableErrorStatus';
import type { AllowlistChange } from './allowlistChange';
import type { TableAllowlistAuditLog } from './tableAllowlistAuditLog';

/**
 * The caller waits for the answer, so the audit write is tried three times within about two
 * seconds: 800 ms for the first try (room for a token refresh), 500 ms for each retry (the
 * Tables client's own retries included), 100 ms and 300 ms between tries. A storage blip that
 * short is the common case; a longer outage is reported rather than waited out.
 */
const ATTEMPT_TIMEOUTS_MS = [800, 500, 500];
const BACKOFF_MS = [100, 300];
export const AUDIT_WRITE_ATTEMPTS = ATTEMPT_TIMEOUTS_MS.length;

export type AuditWriteOutcome =
  /** `etag` is undefined when an earlier try landed unseen. */
  | { written: true; attempts: number; earlierFailures: unknown[]; etag: string | undefined }
  | { written: false; attempts: number; error: unknown };

/** Writes one audit record owing its notice to `noticePending`, retrying briefly; never throws. */
export async function writeAuditRecord(
  auditLog: TableAllowlistAuditLog,
  change: AllowlistChange,
  noticePending: string[] = [],
): Promise<AuditWriteOutcome> {
  const failures: unknown[] = [];
  for (let attempt = 1; attempt <= AUDIT_WRITE_ATTEMPTS; attempt += 1) {
    if (attempt > 1) {
      await delay(BACKOFF_MS[attempt - 2] ?? 0);
    }

    try {
      const timeoutMs = ATTEMPT_TIMEOUTS_MS[attempt - 1] ?? 0;
      const etag = await auditLog.append(change, {
        abortSignal: AbortSignal.timeout(timeoutMs),
        noticePending,
      });

      return { written: true, attempts: attempt, earlierFailures: failures, etag };
    } catch (error) {
      // A try that timed out or lost its answer may have been written all the same. The
      // record's id is random, so "already exists" on a retry can only be that earlier try.
      if (attempt > 1 && isAlreadyExists(error)) {
        return { written: true, attempts: attempt, earlierFailures: failures, etag: undefined };
      }
      failures.push(error);
    }
  }

  return { written: false, attempts: AUDIT_WRITE_ATTEMPTS, error: failures.at(-1) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
