import type { OutboxDelivery } from './alertOutbox';

/** Writes kept at most; beyond this the oldest is dropped (its alert may then be sent twice). */
const MAX_WAITING = 10_000;
/**
 * How often waiting writes are tried again on their own, while there are any. Well inside the
 * grace a redelivery pass gives a lease that ended without an outcome (one more lease length,
 * minutes), so the write lands before another instance would resend the alert.
 */
export const DEFAULT_FLUSH_INTERVAL_MS = 5_000;

interface WaitingWrite {
  delivery: OutboxDelivery;
  write: (delivery: OutboxDelivery) => Promise<OutboxDelivery | undefined>;
}

export interface BacklogFlush {
  written: number;
  /** Rows another worker changed first; nothing left to write for them. */
  conflicts: number;
  stillWaiting: number;
}

export interface OutcomeBacklogOptions {
  flushIntervalMs?: number;
  /** Where an error line goes when a write has to be dropped; console.error by default. */
  logError?: (line: string) => void;
}

/**
 * "Delivered" outcomes that storage refused to record, kept in memory and written again every
 * few seconds while any wait, and at the start of each batch or redelivery pass. An alert the
 * destination acknowledged while storage was down would otherwise look pending once its lease
 * ends and be sent again. The rows are still leased to this instance meanwhile (and a
 * redelivery pass gives a lease that ended without an outcome one more lease length), so the
 * ETag of the lease still holds. What this cannot cover: the instance stopping before storage
 * comes back, or storage staying down past the lease and its grace.
 */
export class OutcomeBacklog {
  private waiting: WaitingWrite[] = [];
  /** Writes a flush has taken and not finished yet: still unrecorded until they succeed. */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<BacklogFlush> | undefined;
  private readonly flushIntervalMs: number;
  private readonly logError: (line: string) => void;

  constructor(options: OutcomeBacklogOptions = {}) {
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.logError = options.logError ?? ((line) => console.error(line));
  }

  /** Deliveries not recorded yet, whether waiting or being written right now. */
  get size(): number {
    return this.waiting.length + this.inFlight;
  }

  add(
    delivery: OutboxDelivery,
    write: (delivery: OutboxDelivery) => Promise<OutboxDelivery | undefined>,
  ): void {
    this.waiting.push({ delivery, write });
    if (this.waiting.length > MAX_WAITING) {
      const dropped = this.waiting.shift()!;
      this.logError(
        JSON.stringify({
          event: 'unrecorded-delivery-dropped',
          alertId: dropped.delivery.alertId,
          destination: dropped.delivery.destination,
          waiting: MAX_WAITING,
          consequence:
            'the destination acknowledged this alert; it goes out again when its lease ends',
        }),
      );
    }
    this.scheduleFlush();
  }

  /**
   * Tries every waiting write once; those storage still refuses stay for the next flush. A
   * flush already running is joined rather than started twice.
   */
  flush(): Promise<BacklogFlush> {
    this.flushing ??= this.writeWaiting().finally(() => {
      this.flushing = undefined;
    });

    return this.flushing;
  }

  private async writeWaiting(): Promise<BacklogFlush> {
    const attempt = this.waiting;
    this.waiting = [];
    this.inFlight += attempt.length;
    let written = 0;
    let conflicts = 0;

    await Promise.all(
      attempt.map(async (entry) => {
        try {
          if ((await entry.write(entry.delivery)) === undefined) {
            conflicts += 1;
          } else {
            written += 1;
          }
        } catch {
          // Storage is still failing; the write waits for the next flush.
          this.waiting.push(entry);
        } finally {
          this.inFlight -= 1;
        }
      }),
    );

    return { written, conflicts, stillWaiting: this.waiting.length };
  }

  /** Flushes on a timer of its own until nothing waits; the timer never keeps a process up. */
  private scheduleFlush(): void {
    if (this.timer !== undefined) {
      return;
    }

    this.timer = setTimeout(() => {
      void this.flush().finally(() => {
        this.timer = undefined;
        if (this.waiting.length > 0) {
          this.scheduleFlush();
        }
      });
    }, this.flushIntervalMs);
    this.timer.unref();
  }
}
