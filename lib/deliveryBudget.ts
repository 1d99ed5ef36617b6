/**
 * How long one invocation may keep starting deliveries. host.json sets functionTimeout to
 * 10 minutes and the host kills a worker that overruns it, mid-send. Stopping at half of it
 * leaves the longest delivery already started (DELIVERY_MAX_ATTEMPTS attempts with their
 * waits, about 2 minutes at the most with the defaults) and the outcome writes room to end.
 * What is left stays pending for the redelivery timer.
 */
export const DELIVERY_BUDGET_MS = 5 * 60_000;

/**
 * Passed along with the work: deliveries may start for `budgetMs` more, counted from when the
 * callee gets it. A span rather than an instant, so each part measures it on its own clock.
 */
export interface DeliveryBudget {
  budgetMs?: number;
}

/** What is left of an invocation's budget that started at `startedAt`. */
export function remainingBudgetMs(startedAt: Date, now: Date): number {
  return DELIVERY_BUDGET_MS - (now.getTime() - startedAt.getTime());
}
