import type { DeliveryOptions } from '../deliverNotification';
import type { Destination } from '../destination';
import { dispatchNotifications } from '../dispatchNotifications';
import type { TeamsRateLimiter } from '../teamsRateLimiter';
import type { AllowlistChange } from './allowlistChange';
import { allowlistChangeNotification } from './allowlistChangeNotification';

/** Announces allowlist changes; answers with one line per failed delivery (no URLs). */
export interface AllowlistChangeNotifier {
  announce(change: AllowlistChange): Promise<string[]>;
}

/** Sends each change notice to the alert destinations, the same way alerts travel. */
export class DestinationChangeNotifier implements AllowlistChangeNotifier {
  constructor(
    private readonly destinations: Destination[],
    private readonly options: DeliveryOptions,
    /** The instance's Teams pacing, shared with alerts; without it notices are not paced. */
    private readonly teamsLimiter?: TeamsRateLimiter,
  ) {}

  async announce(change: AllowlistChange): Promise<string[]> {
    if (this.destinations.length === 0) {
      return [];
    }

    const report = await dispatchNotifications(
      [allowlistChangeNotification(change)],
      this.destinations,
      this.options,
      this.teamsLimiter,
    );

    return report.outcomes
      .filter((outcome) => !outcome.delivered)
      .map((outcome) => outcome.error?.message ?? `not delivered to ${outcome.destination}`);
  }
}
