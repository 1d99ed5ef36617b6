import {
  deliverNotification,
  type DeliveryOptions,
  type DeliveryOutcome,
} from './deliverNotification';
import type { Destination } from './destination';
import type { Notification } from './notification';
import type { TeamsRateLimiter } from './teamsRateLimiter';

export interface DispatchReport {
  delivered: number;
  failed: number;
  outcomes: (DeliveryOutcome & { notificationId: string })[];
}

/**
 * Sends every notification to every destination. Destinations are served side by side, so a
 * slow or failing one never holds up another; within one destination messages go in order.
 * With a rate limiter, requests to each Teams webhook are paced by it.
 */
export async function dispatchNotifications(
  notifications: Notification[],
  destinations: Destination[],
  options: DeliveryOptions,
  teamsLimiter?: TeamsRateLimiter,
): Promise<DispatchReport> {
  const perDestination = await Promise.all(
    destinations.map(async (destination) => {
      const outcomes: DispatchReport['outcomes'] = [];
      const paced: DeliveryOptions =
        teamsLimiter === undefined || destination.kind !== 'teams'
          ? options
          : {
              ...options,
              beforeAttempt: () => teamsLimiter.acquire(destination.url.href),
              onThrottled: (retryAfterMs) =>
                teamsLimiter.pause(destination.url.href, retryAfterMs ?? 1000),
            };
      for (const notification of notifications) {
        const outcome = await deliverNotification(destination, notification, paced);
        outcomes.push({ ...outcome, notificationId: notification.id });
      }

      return outcomes;
    }),
  );
  const outcomes = perDestination.flat();
  const delivered = outcomes.filter((outcome) => outcome.delivered).length;

  return { delivered, failed: outcomes.length - delivered, outcomes };
}
