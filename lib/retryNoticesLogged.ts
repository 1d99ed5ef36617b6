import type { DetectorRuntime } from './detectorRuntime';
import type { OperatorLog } from './logRedeliveryReport';

/**
 * Runs the change-notice pass after the alert pass; it never fails that pass: an error is
 * logged and the next pass tries again. Answers the notices found owed, or undefined when
 * the pass failed or this runtime has none to retry.
 */
export async function retryNoticesLogged(
  runtime: Partial<Pick<DetectorRuntime, 'retryChangeNotices'>>,
  log: OperatorLog,
): Promise<number | undefined> {
  if (runtime.retryChangeNotices === undefined) {
    return undefined;
  }

  try {
    const report = await runtime.retryChangeNotices(log);

    return report.owed;
  } catch (error) {
    log.error(
      `Change notice pass failed; the next pass tries again: ${error instanceof Error ? error.message : 'unknown error'}`,
    );

    return undefined;
  }
}
