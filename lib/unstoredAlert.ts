import type { Alert } from './alert';
import type { AlertSinkReport } from './alertSink';

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

/** What the outbox sink adds to its report; other sinks store nothing, so have none. */
export interface UnstoredAlertsReport {
  unstoredAlerts?: UnstoredAlert[];
}

/** The sink's account of alerts it could not store, when it is a sink that stores them. */
export function unstoredAlertsOf(report: AlertSinkReport): UnstoredAlert[] {
  return (report as AlertSinkReport & UnstoredAlertsReport).unstoredAlerts ?? [];
}
