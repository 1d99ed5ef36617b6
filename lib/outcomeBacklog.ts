import type { OutboxDelivery } from './alertOutbox';

/** Writes kept at most; beyond this the oldest is dropped (its alert may then be sent twice). */
const MAX_WAITING = 10_000;

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

/**
 * "Delivered" outcomes that storage refused to record, kept in memory and written again at
 * the start of the next batch or redelivery pass. An alert the destination acknowledged
 * while storage was down would otherwise look pending once its lease ends and be sent again.
 * The rows are still leased to this instance meanwhile, so the ETag of the lease still
 * holds. What this cannot cover: the instance stopping before storage comes back.
 */
export class OutcomeBacklog {
  private waiting: WaitingWrite[] = [];

  get size(): number {
    return this.waiting.length;
  }

  add(
    delivery: OutboxDelivery,
    write: (delivery: OutboxDelivery) => Promise<OutboxDelivery | undefined>,
  ): void {
    this.waiting.push({ delivery, write });
    if (this.waiting.length > MAX_WAITING) {
      this.waiting.shift();
    }
  }

  /** Tries every waiting write once; those storage still refuses stay for the next flush. */
  async flush(): Promise<BacklogFlush> {
    const attempt = this.waiting;
    this.waiting = [];
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
        }
      }),
    );

    return { written, conflicts, stillWaiting: this.waiting.length };
  }
}
