import type { RedeliveryReport } from './redeliverPendingAlerts';

/** The logging half of an InvocationContext, or of a console in local mode. */
export interface OperatorLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const MAX_FAILURES_LOGGED = 20;

/**
 * One summary line per redelivery pass, a warning per failed delivery (a few at most) and an
 * error per alert given up, so an operator can find each one in the dead-letter table.
 * `notices` counts the change notices the same pass found owed, when it looked.
 */
export function logRedeliveryReport(
  report: RedeliveryReport,
  log: OperatorLog,
  notices?: number,
): void {
  for (const expired of report.expired) {
    log.error(JSON.stringify({ event: 'alert-expired', ...expired }));
  }
  for (const failure of report.failures.slice(0, MAX_FAILURES_LOGGED)) {
    log.warn(`Redelivery failed: ${failure}`);
  }
  for (const problem of report.storageErrors.slice(0, MAX_FAILURES_LOGGED)) {
    log.error(`Redelivery could not record an outcome: ${problem}`);
  }

  log.log(
    JSON.stringify({
      event: 'redelivery',
      due: report.due,
      taken: report.taken,
      delivered: report.delivered,
      failed: report.failed,
      postponed: report.postponed,
      expired: report.expired.length,
      conflicts: report.conflicts,
      unknownDestination: report.unknownDestination,
      awaitingLeaseGrace: report.awaitingLeaseGrace,
      heldBack: report.heldBack,
      storageErrors: report.storageErrors.length,
      ...(notices === undefined ? {} : { notices }),
    }),
  );
}
