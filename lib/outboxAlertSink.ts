import type { Alert } from './alert';
import { destinationKey, type AlertOutbox } from './alertOutbox';
import type { AlertSink, AlertSinkReport, SendOptions } from './alertSink';
import { boundAlert } from './boundAlert';
import type { Destination } from './destination';
import { mapWithConcurrency } from './mapWithConcurrency';
import type { DeliveryWork, OutboxDeliverer } from './outboxDeliverer';
import { StorageUnavailableError } from './storageUnavailableError';

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

/**
 * Stores every alert in the outbox before the first delivery attempt, and sends only the
 * alerts this call claimed: an alert id claimed before (a redelivered batch, a concurrent
 * instance, a retry after a storage failure) is not sent again. What cannot be delivered now
 * stays pending in the outbox for the redelivery timer.
 *
 * When storage fails, the alerts claimed so far are still sent, and the report carries the
 * error so that the handler throws and the trigger's retry policy runs the batch again.
 */
export class OutboxAlertSink implements AlertSink {
  private readonly now: () => Date;

  constructor(private readonly options: OutboxAlertSinkOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async send(alerts: Alert[], sendOptions: SendOptions = {}): Promise<AlertSinkReport> {
    await this.options.deliverer.flushBacklog();

    const unique = [...new Map(alerts.map((alert) => [alert.alertId, alert])).values()].map(
      boundAlert,
    );
    const duplicatesInBatch = alerts.length - unique.length;

    let storageError: StorageUnavailableError | undefined;
    const claims = await mapWithConcurrency(unique, CLAIM_CONCURRENCY, async (alert) => {
      if (storageError !== undefined) {
        // Storage is failing: the retry will claim the rest, no need to wait on each here.
        return { alert, outcome: 'unstored' as const };
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
        if (!(error instanceof StorageUnavailableError)) {
          throw error;
        }
        storageError ??= error;

        return { alert, outcome: 'unstored' as const };
      }
    });

    const work: DeliveryWork[] = [];
    const unstored: Alert[] = [];
    let duplicates = duplicatesInBatch;
    for (const { alert, outcome } of claims) {
      if (outcome === 'unstored') {
        unstored.push(alert);
      } else if (outcome.kind === 'already-claimed') {
        duplicates += 1;
      } else {
        for (const delivery of outcome.deliveries) {
          const destination = this.options.destinations.find(
            (candidate) => destinationKey(candidate) === delivery.destinationKey,
          );
          if (destination !== undefined) {
            work.push({ alert, destination, delivery });
          }
        }
      }
    }

    const lastResort = sendOptions.finalAttempt === true && unstored.length > 0;
    if (lastResort) {
      // Storage has failed through every retry: sending unclaimed beats losing the alert.
      for (const alert of unstored) {
        for (const destination of this.options.destinations) {
          work.push({ alert, destination, delivery: undefined });
        }
      }
    }

    const report = await this.options.deliverer.deliver(work);

    return {
      delivered: report.delivered,
      failed: report.failed,
      failures: [...report.failures, ...report.storageErrors],
      duplicates,
      pending: report.failed + report.postponed,
      ...(storageError !== undefined ? { retryableError: storageError } : {}),
      ...(unstored.length > 0 ? { unstored } : {}),
    };
  }
}
