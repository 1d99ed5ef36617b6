import type { DetectorRuntime } from './detectorRuntime';
import { logRedeliveryReport, type OperatorLog } from './logRedeliveryReport';
import { retryNoticesLogged } from './retryNoticesLogged';

/**
 * Local mode's stand-in for the redelivery timer: runs a redelivery pass every `intervalMs`
 * (runs never overlap) until the returned function is called; that function resolves once
 * a pass in progress has finished. Each pass retries the owed change notices after the alerts.
 * A failed pass is logged and the next one tries again.
 */
export function startRedeliveryLoop(
  runtime: Pick<DetectorRuntime, 'redeliver'> &
    Partial<Pick<DetectorRuntime, 'retryChangeNotices'>>,
  intervalMs: number,
  log: OperatorLog = console,
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async (): Promise<void> => {
    try {
      const report = await runtime.redeliver();
      const notices = await retryNoticesLogged(runtime, log);
      if (report.due > 0 || (notices ?? 0) > 0) {
        logRedeliveryReport(report, log, notices);
      }
    } catch (error) {
      log.error(`Redelivery pass failed: ${error instanceof Error ? error.message : 'unknown'}`);
    }
  };
  const schedule = (): void => {
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        if (!stopped) {
          schedule();
        }
      });
    }, intervalMs);
    // Local mode ends when its server closes; a pending pass should not keep it alive.
    timer.unref();
  };
  schedule();

  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
