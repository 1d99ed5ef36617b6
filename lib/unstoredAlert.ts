import type { Alert } from './alert';

/** Why an alert is not in the outbox. */
export type UnstoredCause = 'storage-unavailable' | 'storage-refused';

/**
 * An alert the outbox does not hold, and what became of it: which destinations acknowledged
 * it (sent without a claim) and which did not. Destinations are named by label, never URL.
 */
export interface UnstoredAlert {
  alert: Alert;
  cause: UnstoredCause;
  /** What storage answered, e.g. `HTTP 400 (InvalidDuplicateRow)`. */
  problem: string;
  sentTo: string[];
  notSentTo: string[];
}
