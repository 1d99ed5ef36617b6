import type { InvocationContext, Timer } from '@azure/functions';

import type { DetectorRuntime } from './detectorRuntime';
import { logRedeliveryReport } from './logRedeliveryReport';

/**
 * The redelivery timer's handler: one pass over the outbox, logged. A storage failure is
 * logged and thrown (the invocation shows as failed); the next tick simply tries again.
 */
export function createRedeliveryHandler(runtime: Pick<DetectorRuntime, 'redeliver'>) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    if (timer.isPastDue) {
      context.warn('Redelivery timer is running late (the previous run overran or the app slept).');
    }

    try {
      logRedeliveryReport(await runtime.redeliver(), context);
    } catch (error) {
      context.error(
        `Redelivery pass failed; the next run tries again: ${error instanceof Error ? error.message : 'unknown error'}`,
      );
      throw error;
    }
  };
}
