import { emptyRedeliveryReport } from '../../lib/detectorRuntime';
import { startRedeliveryLoop } from '../../lib/startRedeliveryLoop';

describe('the local redelivery loop', () => {
  it('runs a pass per interval, never two at once, logs failures and stops cleanly', async () => {
    let running = 0;
    let mostAtOnce = 0;
    let passes = 0;
    const errors: string[] = [];
    const runtime = {
      redeliver: async () => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        passes += 1;
        await new Promise((resolve) => setTimeout(resolve, 30));
        running -= 1;
        if (passes === 2) {
          throw new Error('Table AlertOutbox could not list due alerts: HTTP 503');
        }

        return { ...emptyRedeliveryReport(), due: 1, delivered: 1 };
      },
    };
    const lines: string[] = [];
    const log = {
      log: (line: string) => lines.push(line),
      warn: (line: string) => lines.push(line),
      error: (line: string) => errors.push(line),
    };

    const stop = startRedeliveryLoop(runtime, 10, log);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stop();
    const passesAtStop = passes;
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(passes).toBeGreaterThanOrEqual(3);
    expect(passes).toBe(passesAtStop);
    expect(mostAtOnce).toBe(1);
    expect(running).toBe(0);
    expect(errors).toEqual([
      'Redelivery pass failed: Table AlertOutbox could not list due alerts: HTTP 503',
    ]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'redelivery', due: 1, delivered: 1 });
  });
});
