import type { InvocationContext, Timer } from '@azure/functions';

import type { DetectorRuntime } from './detectorRuntime';
import { logRedeliveryReport } from './logRedeliveryReport';
import { retryNoticesLogged } from './retryNoticesLogged';

/**
 * The redelivery timer's handler: one pass over the outbox, then one over the owed change
 * notices, logged. A storage failure of the alert pass is logged and thrown (the invocation
 * shows as failed); one of the notice pass is only logged. The next tick simply tries again.
 */
export function createRedeliveryHandler(
  runtime: Pick<DetectorRuntime, 'redeliver'> &
    Partial<Pick<DetectorRuntime, 'retryChangeNotices'>>,
) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    if (timer.isPastDue) {
      context.warn('Redelivery timer is running late (the previous run overran or the app slept).');
    }

    try {
      const report = await runtime.redeliver();
      logRedeliveryReport(report, context, await retryNoticesLogged(runtime, context));
    } catch (error) {
      context.error(
        `Redelivery pass failed; the next run tries again: ${error instanceof Error ? error.message : 'unknown error'}`,
      );
      throw error;
    }
  };
}
