/**
 * Polls `done` every 50 ms until it holds; after `timeoutMs` fails with what `why` tells
 * (a log so far), so that a timed-out test shows what the app was doing.
 */
export async function waitFor(
  done: () => boolean,
  timeoutMs: number,
  why: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out; log so far:\n${why()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
