import type { Alert } from './alert';
import { AlertNotStorableError } from './alertNotStorableError';
import { destinationKey, type AlertOutbox, type ClaimOutcome } from './alertOutbox';
import type { AlertSink, AlertSinkReport, SendOptions } from './alertSink';
import { boundAlert } from './boundAlert';
import type { Destination } from './destination';
import { mapWithConcurrency } from './mapWithConcurrency';
import type { DeliveryWork, OutboxDeliverer } from './outboxDeliverer';
import { StorageUnavailableError } from './storageUnavailableError';
import type { UnstoredAlert, UnstoredCause } from './unstoredAlert';

export interface OutboxAlertSinkOptions {
  outbox: AlertOutbox;
  deliverer: OutboxDeliverer;
  destinations: Destination[];
  /** How long the claiming worker holds the new deliveries before the timer may take them. */
  leaseMs: number;
  now?: () => Date;
}

/** Claims written at once; Table Storage takes far more, this only bounds one batch's burst. */
const CLAIM_CONCURRENCY = 8;

type ClaimResult =
  | { alert: Alert; outcome: ClaimOutcome }
  | { alert: Alert; outcome: 'unstored'; problem: string }
  | { alert: Alert; outcome: 'refused'; problem: string };

/**
 * Stores every alert in the outbox before the first delivery attempt, and sends only the
 * alerts this call claimed: an alert id claimed before (a redelivered batch, a concurrent
 * instance, a retry after a storage failure) is not sent again. What cannot be delivered now
 * stays pending in the outbox for the redelivery timer.
 *
 * When storage fails, the alerts claimed so far are still sent, and the report carries the
 * error so that the handler throws and the trigger's retry policy runs the batch again. An
 * alert storage refuses as such (HTTP 400 or 413) would be refused by every retry too: it is
 * sent once without a claim right away, and reported so the handler logs it in full.
 */
export class OutboxAlertSink implements AlertSink {
  private readonly now: () => Date;

  constructor(private readonly options: OutboxAlertSinkOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async send(alerts: Alert[], sendOptions: SendOptions = {}): Promise<AlertSinkReport> {
    const startedAt = this.now();
    await this.options.deliverer.flushBacklog();

    const unique = [...new Map(alerts.map((alert) => [alert.alertId, alert])).values()].map(
      boundAlert,
    );
    const duplicatesInBatch = alerts.length - unique.length;

    let storageError: StorageUnavailableError | undefined;
    const claims = await mapWithConcurrency(
      unique,
      CLAIM_CONCURRENCY,
      async (alert): Promise<ClaimResult> => {
        if (storageError !== undefined) {
          // Storage is failing: the retry will claim the rest, no need to wait on each here.
          return { alert, outcome: 'unstored', problem: storageError.message };
        }
        try {
          const now = this.now();
          const claim = await this.options.outbox.claim(
            alert,
            this.options.destinations,
            now,
            new Date(now.getTime() + this.options.leaseMs),
          );

          return { alert, outcome: claim };
        } catch (error) {
          if (error instanceof AlertNotStorableError) {
            return { alert, outcome: 'refused', problem: error.message };
          }
          if (!(error instanceof StorageUnavailableError)) {
            throw error;
          }
          storageError ??= error;

          return { alert, outcome: 'unstored', problem: error.message };
        }
      },
    );

    const work: DeliveryWork[] = [];
    const unstored: { alert: Alert; cause: UnstoredCause; problem: string }[] = [];
    let duplicates = duplicatesInBatch;
    for (const claim of claims) {
      if (claim.outcome === 'unstored') {
        unstored.push({ alert: claim.alert, cause: 'storage-unavailable', problem: claim.problem });
      } else if (claim.outcome === 'refused') {
        unstored.push({ alert: claim.alert, cause: 'storage-refused', problem: claim.problem });
      } else if (claim.outcome.kind === 'already-claimed') {
        duplicates += 1;
      } else {
        for (const delivery of claim.outcome.deliveries) {
          const destination = this.options.destinations.find(
            (candidate) => destinationKey(candidate) === delivery.destinationKey,
          );
          if (destination !== undefined) {
            work.push({ alert: claim.alert, destination, delivery });
          }
        }
      }
    }

    // Unstored alerts are sent without a claim when nothing else will send them: an alert
    // storage refused (every retry would be refused too), or any on the trigger's last retry.
    const sendUnclaimed = (cause: UnstoredCause) =>
      cause === 'storage-refused' || sendOptions.finalAttempt === true;
    for (const { alert, cause } of unstored) {
      if (sendUnclaimed(cause)) {
        for (const destination of this.options.destinations) {
          work.push({ alert, destination, delivery: undefined });
        }
      }
    }

    // The claims took part of the caller's budget.
    const budgetMs =
      sendOptions.budgetMs === undefined
        ? undefined
        : sendOptions.budgetMs - (this.now().getTime() - startedAt.getTime());
    const report = await this.options.deliverer.deliver(work, { budgetMs });
    const unstoredAlerts: UnstoredAlert[] = unstored.map(({ alert, cause, problem }) => {
      const outcomes = report.unclaimed.filter((outcome) => outcome.alertId === alert.alertId);

      return {
        alert,
        cause,
        problem,
        sentTo: outcomes
          .filter((outcome) => outcome.delivered)
          .map((outcome) => outcome.destination),
        notSentTo: sendUnclaimed(cause)
          ? outcomes.filter((outcome) => !outcome.delivered).map((outcome) => outcome.destination)
          : this.options.destinations.map((destination) => destination.label),
      };
    });
    const unsent = report.unclaimed.filter((outcome) => !outcome.delivered).length;

    return {
      delivered: report.delivered,
      failed: report.failed + unsent,
      failures: [...report.failures, ...report.storageErrors],
      duplicates,
      pending: report.failed + report.postponed,
      ...(storageError !== undefined ? { retryableError: storageError } : {}),
      ...(unstored.length > 0 ? { unstored: unstoredAlerts } : {}),
    };
  }
}
