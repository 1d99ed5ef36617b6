import type { Alert } from './alert';
import { alertNotification } from './alertCard';
import type { DeliveryOptions } from './deliverNotification';
import type { Destination } from './destination';
import { dispatchNotifications } from './dispatchNotifications';
import type { DeliveryBudget } from './deliveryBudget';
import type { TeamsRateLimiter } from './teamsRateLimiter';
import type { UnstoredAlert } from './unstoredAlert';

export interface AlertSinkReport {
  delivered: number;
  failed: number;
  /** One line per failed delivery: destination label and what happened, no URL. */
  failures: string[];
  /** Alerts already claimed by an earlier delivery of the same records, so not sent again. */
  duplicates?: number;
  /** Deliveries left in the outbox for the redelivery timer. */
  pending?: number;
  /**
   * Set when alerts could not be stored before sending. The batch must run again (the
   * handler throws it, so the trigger's retry policy does); claims keep that from resending.
   */
  retryableError?: Error;
  /**
   * Alerts that could not be stored, each with where it was sent without a claim (on the last
   * retry, or when storage refused it) and where not.
   */
  unstored?: UnstoredAlert[];
}

export interface SendOptions extends DeliveryBudget {
  /**
   * This is the trigger's last retry: an alert that cannot be stored is sent without a claim
   * rather than lost (a later redelivery of the same records may then send it again).
   */
  finalAttempt?: boolean;
}

/** Where the detector hands its alerts. */
export interface AlertSink {
  send(alerts: Alert[], options?: SendOptions): Promise<AlertSinkReport>;
}

/**
 * Sends alerts straight to the configured destinations: no claim, no outbox (scan, and the
 * app without Table Storage). Teams webhooks are paced when given a rate limiter.
 */
export class DirectAlertSink implements AlertSink {
  constructor(
    private readonly destinations: Destination[],
    private readonly options: DeliveryOptions,
    private readonly teamsLimiter?: TeamsRateLimiter,
  ) {}

  async send(alerts: Alert[]): Promise<AlertSinkReport> {
    if (alerts.length === 0 || this.destinations.length === 0) {
      return { delivered: 0, failed: 0, failures: [] };
    }

    const report = await dispatchNotifications(
      alerts.map(alertNotification),
      this.destinations,
      this.options,
      this.teamsLimiter,
    );

    return {
      delivered: report.delivered,
      failed: report.failed,
      failures: report.outcomes
        .filter((outcome) => !outcome.delivered)
        .map(
          (outcome) =>
            `alert ${outcome.notificationId}: ${outcome.error?.message ?? 'not delivered'}`,
        ),
    };
  }
}
