import type { Alert } from './alert';
import { alertNotification } from './alertCard';
import { renderAlertDigests } from './alertDigestCard';
import { destinationKey, type AlertOutbox, type OutboxDelivery } from './alertOutbox';
import type { CircuitBreaker } from './circuitBreaker';
import {
  deliverNotification,
  isRetryableStatus,
  longestDeliveryMs,
  type DeliveryOptions,
  type DeliveryOutcome,
} from './deliverNotification';
import type { Destination } from './destination';
import type { Notification } from './notification';
import { OutcomeBacklog, type BacklogFlush } from './outcomeBacklog';
import { StorageUnavailableError } from './storageUnavailableError';
import type { TeamsRateLimiter } from './teamsRateLimiter';

/** One alert for one destination, with the outbox row the caller holds the lease on. */
export interface DeliveryWork {
  alert: Alert;
  destination: Destination;
  /** Undefined only for the last-resort delivery of an alert that could not be stored. */
  delivery: OutboxDelivery | undefined;
}

export interface OutboxDeliveryReport {
  /** Deliveries the destination acknowledged. */
  delivered: number;
  /** Deliveries tried that failed; they stay pending with a later next attempt. */
  failed: number;
  /** Deliveries not tried (destination skipped or failing); they stay pending. */
  postponed: number;
  /** Rows another worker changed first; that worker's state stands. */
  conflicts: number;
  /** What failed, per destination label; never a URL. */
  failures: string[];
  /** Outcome writes that storage refused; those rows are retried when their lease ends. */
  storageErrors: string[];
}

export interface OutboxDelivererOptions {
  outbox: AlertOutbox;
  delivery: DeliveryOptions;
  breaker: CircuitBreaker;
  teamsLimiter: TeamsRateLimiter;
  /** More alerts than this for one Teams webhook in one pass go as digest cards. */
  teamsDigestThreshold: number;
  /** How long a worker holds a delivery; renewed before a send that could outlast it. */
  leaseMs: number;
  /** Wait before the next attempt after `attempts` failed ones. */
  retryDelayMs?: (attempts: number) => number;
  /** Shared by the deliverers of one instance; a new one by default. */
  backlog?: OutcomeBacklog;
  now?: () => Date;
}

interface SendUnit {
  notification: Notification;
  work: DeliveryWork[];
}

export function emptyDeliveryReport(): OutboxDeliveryReport {
  return { delivered: 0, failed: 0, postponed: 0, conflicts: 0, failures: [], storageErrors: [] };
}

export function addDeliveryReports(total: OutboxDeliveryReport, part: OutboxDeliveryReport): void {
  total.delivered += part.delivered;
  total.failed += part.failed;
  total.postponed += part.postponed;
  total.conflicts += part.conflicts;
  total.failures.push(...part.failures);
  total.storageErrors.push(...part.storageErrors);
}

/** One minute, doubling per failed attempt up to 30 minutes, less up to a quarter of jitter. */
export function defaultRetryDelayMs(attempts: number): number {
  const ceiling = Math.min(30 * 60_000, 60_000 * 2 ** Math.max(0, attempts - 1));

  return Math.round(ceiling * (0.75 + Math.random() * 0.25));
}

/**
 * Sends outbox deliveries. Each destination is a lane of its own, served side by side, so a
 * failing one never holds up another. Within a lane alerts go in order; the first failure
 * that says the destination is unavailable stops the lane and leaves the rest pending, so a
 * dead webhook costs one timeout per pass, not one per alert. A circuit breaker per
 * destination skips it altogether for a while after repeated failures; Teams webhooks are
 * paced by a rate limiter, and a burst for one goes as digest cards.
 */
export class OutboxDeliverer {
  private readonly now: () => Date;
  private readonly retryDelayMs: (attempts: number) => number;
  private readonly backlog: OutcomeBacklog;

  constructor(private readonly options: OutboxDelivererOptions) {
    this.now = options.now ?? (() => new Date());
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
    this.backlog = options.backlog ?? new OutcomeBacklog();
  }

  /** Records the deliveries that storage refused to record earlier (see OutcomeBacklog). */
  flushBacklog(): Promise<BacklogFlush> {
    return this.backlog.flush();
  }

  async deliver(work: DeliveryWork[]): Promise<OutboxDeliveryReport> {
    const lanes = new Map<string, DeliveryWork[]>();
    for (const item of work) {
      const key = destinationKey(item.destination);
      lanes.set(key, [...(lanes.get(key) ?? []), item]);
    }

    const reports = await Promise.all(
      [...lanes.entries()].map(([key, items]) => this.runLane(key, items)),
    );
    const total = emptyDeliveryReport();
    reports.forEach((report) => addDeliveryReports(total, report));

    return total;
  }

  private async runLane(key: string, work: DeliveryWork[]): Promise<OutboxDeliveryReport> {
    const report = emptyDeliveryReport();
    const destination = work[0]!.destination;
    const units = this.unitsFor(destination, work);

    for (let index = 0; index < units.length; index += 1) {
      const unit = units[index]!;
      let held: DeliveryWork[];
      try {
        held = await this.renewLeases(unit.work, report);
      } catch (error) {
        // Without storage no lease can be checked; the rows wait for their lease to end.
        report.storageErrors.push(describe(error));
        report.postponed += units.slice(index).reduce((sum, next) => sum + next.work.length, 0);

        return report;
      }
      if (held.length === 0) {
        continue;
      }
      if (!this.options.breaker.tryAcquire(key)) {
        const resumeAt = new Date(this.options.breaker.retryAt(key) ?? this.now().getTime());
        await this.postpone([{ ...unit, work: held }, ...units.slice(index + 1)], resumeAt, report);

        return report;
      }

      const notification =
        held.length === unit.work.length ? unit.notification : notificationFor(held);
      let askedToWaitMs: number | undefined;
      const outcome = await deliverNotification(destination, notification, {
        ...this.options.delivery,
        beforeAttempt:
          destination.kind === 'teams'
            ? () => this.options.teamsLimiter.acquire(key)
            : this.options.delivery.beforeAttempt,
        onThrottled: (retryAfterMs) => {
          askedToWaitMs = retryAfterMs ?? askedToWaitMs;
          if (destination.kind === 'teams') {
            this.options.teamsLimiter.pause(key, retryAfterMs ?? 1000);
          }
        },
      });

      if (outcome.delivered) {
        this.options.breaker.recordSuccess(key);
        await this.settle(
          held,
          report,
          (row, at) => this.options.outbox.recordDelivered(row, at),
          true,
        );
        report.delivered += held.length;
        continue;
      }

      const unavailable = destinationUnavailable(outcome);
      if (unavailable) {
        this.options.breaker.recordFailure(key);
      } else {
        // The destination answered (a 4xx for this message): it is up, only this alert failed.
        this.options.breaker.recordSuccess(key);
      }
      const problem = outcome.error?.message ?? `Delivery to ${destination.label} failed`;
      report.failures.push(problem);
      report.failed += held.length;
      const waitMs = Math.max(askedToWaitMs ?? 0, outcome.retryAfterMs ?? 0);
      await this.settle(held, report, (row, at) =>
        this.options.outbox.recordFailure(
          row,
          at,
          problem,
          new Date(at.getTime() + Math.max(this.retryDelayMs(row.attempts + 1), waitMs)),
        ),
      );

      if (unavailable) {
        const resumeAt = new Date(
          this.options.breaker.retryAt(key) ??
            this.now().getTime() + Math.max(this.retryDelayMs(1), waitMs),
        );
        await this.postpone(units.slice(index + 1), resumeAt, report);

        return report;
      }
    }

    return report;
  }

  /** One notification per alert; for Teams, digest cards once more than the threshold wait. */
  private unitsFor(destination: Destination, work: DeliveryWork[]): SendUnit[] {
    if (destination.kind !== 'teams' || work.length <= this.options.teamsDigestThreshold) {
      return work.map((item) => ({ notification: alertNotification(item.alert), work: [item] }));
    }

    const units: SendUnit[] = [];
    let offset = 0;
    for (const digest of renderAlertDigests(work.map((item) => item.alert))) {
      units.push({
        notification: digest.notification,
        work: work.slice(offset, offset + digest.alertIds.length),
      });
      offset += digest.alertIds.length;
    }

    return units;
  }

  /**
   * Extends the leases that could run out during the next send and returns the work still
   * held; a row another worker took meanwhile is dropped (it is that worker's now).
   */
  private async renewLeases(
    work: DeliveryWork[],
    report: OutboxDeliveryReport,
  ): Promise<DeliveryWork[]> {
    const now = this.now().getTime();
    const needed = longestDeliveryMs(this.options.delivery) + 5_000;
    const renewed = await Promise.all(
      work.map(async (item) => {
        if (item.delivery === undefined || Date.parse(item.delivery.nextAttemptAt) - now > needed) {
          return item;
        }

        const delivery = await this.options.outbox.lease(
          item.delivery,
          new Date(now + this.options.leaseMs),
        );
        if (delivery === undefined) {
          report.conflicts += 1;

          return undefined;
        }

        return { ...item, delivery };
      }),
    );

    return renewed.filter((item): item is DeliveryWork => item !== undefined);
  }

  private async postpone(units: SendUnit[], until: Date, report: OutboxDeliveryReport) {
    const work = units.flatMap((unit) => unit.work);
    report.postponed += work.length;
    await this.settle(work, report, (row) => this.options.outbox.postpone(row, until));
  }

  /**
   * Writes one outcome per row; a lost race is counted, a storage failure reported, never
   * thrown. A delivery that could not be recorded waits in the backlog (`keep`), since
   * forgetting it would send the alert again when the lease ends.
   */
  private async settle(
    work: DeliveryWork[],
    report: OutboxDeliveryReport,
    write: (row: OutboxDelivery, at: Date) => Promise<OutboxDelivery | undefined>,
    keep = false,
  ): Promise<void> {
    const at = this.now();
    await Promise.all(
      work.map(async (item) => {
        if (item.delivery === undefined) {
          return;
        }
        try {
          if ((await write(item.delivery, at)) === undefined) {
            report.conflicts += 1;
          }
        } catch (error) {
          report.storageErrors.push(describe(error));
          if (keep) {
            this.backlog.add(item.delivery, (row) => write(row, at));
          }
        }
      }),
    );
  }
}

/** The message for what is left of a unit after another worker took some of its rows. */
function notificationFor(held: DeliveryWork[]): Notification {
  if (held.length === 1) {
    return alertNotification(held[0]!.alert);
  }

  // A part of a digest that fitted one card fits one card too.
  return renderAlertDigests(held.map((item) => item.alert))[0]!.notification;
}

/** No answer, a retryable status, or a Teams throttle reported inside a 2xx. */
function destinationUnavailable(outcome: DeliveryOutcome): boolean {
  return (
    outcome.status === undefined ||
    isRetryableStatus(outcome.status) ||
    (outcome.status >= 200 && outcome.status < 300)
  );
}

function describe(error: unknown): string {
  return error instanceof StorageUnavailableError
    ? error.message
    : `storage failed: ${error instanceof Error ? error.name : 'unknown error'}`;
}
