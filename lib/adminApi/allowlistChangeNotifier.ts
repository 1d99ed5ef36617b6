import { destinationKey } from '../alertOutbox';
import type { DeliveryOptions } from '../deliverNotification';
import type { Destination } from '../destination';
import { dispatchNotifications } from '../dispatchNotifications';
import type { TeamsRateLimiter } from '../teamsRateLimiter';
import type { AllowlistChange } from './allowlistChange';
import { allowlistChangeNotification } from './allowlistChangeNotification';

/** What one announcement achieved, per destination; no URLs. */
export interface ChangeNoticeOutcome {
  /** destinationKey of each destination that did not take the notice. */
  undelivered: string[];
  /** One line per failed delivery, for the log. */
  failures: string[];
}

/** Announces allowlist changes to destinations known by their stable keys. */
export interface AllowlistChangeNotifier {
  /** destinationKey of every destination a notice is owed to. */
  destinationKeys(): string[];
  announce(change: AllowlistChange): Promise<ChangeNoticeOutcome>;
}

/** Sends each change notice to the alert destinations, the same way alerts travel. */
export class DestinationChangeNotifier implements AllowlistChangeNotifier {
  constructor(
    private readonly destinations: Destination[],
    private readonly options: DeliveryOptions,
    /** The instance's Teams pacing, shared with alerts; without it notices are not paced. */
    private readonly teamsLimiter?: TeamsRateLimiter,
  ) {}

  destinationKeys(): string[] {
    return this.destinations.map(destinationKey);
  }

  async announce(change: AllowlistChange): Promise<ChangeNoticeOutcome> {
    if (this.destinations.length === 0) {
      return { undelivered: [], failures: [] };
    }

    const report = await dispatchNotifications(
      [allowlistChangeNotification(change)],
      this.destinations,
      this.options,
      this.teamsLimiter,
    );

    // One notification, so the outcomes come in the order of the destinations.
    const undelivered = this.destinations.filter(
      (_destination, index) => report.outcomes[index]?.delivered !== true,
    );

    return {
      undelivered: undelivered.map(destinationKey),
      failures: report.outcomes
        .filter((outcome) => !outcome.delivered)
        .map((outcome) => outcome.error?.message ?? `not delivered to ${outcome.destination}`),
    };
  }
}
