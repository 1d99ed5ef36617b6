export interface TeamsRateLimiterOptions {
  requestsPerSecond: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Spaces requests to each Teams webhook so that one instance sends at most
 * `requestsPerSecond` of them (Teams throttles a webhook above 4 per second). Every HTTP
 * attempt takes a slot, retries included. A throttling answer pauses the webhook for as long
 * as it asked, so other callers on this instance wait too instead of adding to the overload.
 */
export class TeamsRateLimiter {
  private readonly nextSlotAt = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: TeamsRateLimiterOptions) {
    this.intervalMs = Math.ceil(1000 / options.requestsPerSecond);
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves when the caller may send its request to `key`. */
  async acquire(key: string): Promise<void> {
    const now = this.clock();
    const slot = Math.max(now, this.nextSlotAt.get(key) ?? now);
    this.nextSlotAt.set(key, slot + this.intervalMs);

    if (slot > now) {
      await this.sleep(slot - now);
    }
  }

  /** Holds back every request to `key` for `ms` (a 429 and its Retry-After). */
  pause(key: string, ms: number): void {
    const until = this.clock() + ms;
    this.nextSlotAt.set(key, Math.max(until, this.nextSlotAt.get(key) ?? until));
  }
}
