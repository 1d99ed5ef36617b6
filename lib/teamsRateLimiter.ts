export interface TeamsRateLimiterOptions {
  requestsPerSecond: number;
  /**
   * The longest one throttling answer holds a webhook back on this instance. Callers pass
   * waits already cut to their own maxRetryAfterMs; this bounds any other caller too.
   */
  maxPauseMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The inline and timer deliveries wait out at most 10 s and 30 s; this leaves room above. */
const DEFAULT_MAX_PAUSE_MS = 60_000;

/**
 * Spaces requests to each Teams webhook so that one instance sends at most
 * `requestsPerSecond` of them (Teams throttles a webhook above 4 per second). Every HTTP
 * attempt takes a slot, retries included. A throttling answer pauses the webhook for as long
 * as it asked (up to `maxPauseMs`), so other callers on this instance wait too instead of
 * adding to the overload. A caller that cannot wait long (it holds an outbox lease) asks
 * with acquireWithin and gives its deliveries back when the wait would be longer.
 */
export class TeamsRateLimiter {
  private readonly nextSlotAt = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly maxPauseMs: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: TeamsRateLimiterOptions) {
    this.intervalMs = Math.ceil(1000 / options.requestsPerSecond);
    this.maxPauseMs = options.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves when the caller may send its request to `key`. */
  async acquire(key: string): Promise<void> {
    await this.acquireWithin(key, Number.POSITIVE_INFINITY);
  }

  /**
   * Takes the next slot for `key` and waits for it, unless that means waiting longer than
   * `maxWaitMs`: then it takes nothing and resolves to false at once.
   */
  async acquireWithin(key: string, maxWaitMs: number): Promise<boolean> {
    const now = this.clock();
    const slot = Math.max(now, this.nextSlotAt.get(key) ?? now);
    if (slot - now > maxWaitMs) {
      return false;
    }
    this.nextSlotAt.set(key, slot + this.intervalMs);

    if (slot > now) {
      await this.sleep(slot - now);
    }

    return true;
  }

  /** How long a request to `key` would wait if it asked now. */
  waitMs(key: string): number {
    const now = this.clock();

    return Math.max(0, (this.nextSlotAt.get(key) ?? now) - now);
  }

  /** Holds back every request to `key` for `ms` (a 429 and its Retry-After), at most maxPauseMs. */
  pause(key: string, ms: number): void {
    const wait = Number.isFinite(ms) ? Math.min(Math.max(0, ms), this.maxPauseMs) : this.maxPauseMs;
    const until = this.clock() + wait;
    this.nextSlotAt.set(key, Math.max(until, this.nextSlotAt.get(key) ?? until));
  }
}
