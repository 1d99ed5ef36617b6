import type { Alert } from './alert';
import { alertNotification } from './alertCard';
import type { DeliveryOptions } from './deliverNotification';
import type { Destination } from './destination';
import { dispatchNotifications } from './dispatchNotifications';

export interface AlertSinkReport {
  delivered: number;
  failed: number;
  /** One line per failed delivery: destination label and what happened, no URL. */
  failures: string[];
}

/** Where the detector hands its alerts. */
export interface AlertSink {
  send(alerts: Alert[]): Promise<AlertSinkReport>;
}

/** Sends alerts straight to the configured destinations. */
export class DirectAlertSink implements AlertSink {
  constructor(
    private readonly destinations: Destination[],
    private readonly options: DeliveryOptions,
  ) {}

  async send(alerts: Alert[]): Promise<AlertSinkReport> {
    if (alerts.length === 0 || this.destinations.length === 0) {
      return { delivered: 0, failed: 0, failures: [] };
    }

    const report = await dispatchNotifications(
      alerts.map(alertNotification),
      this.destinations,
      this.options,
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
