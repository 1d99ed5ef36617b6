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
import type { DeliveryBudget } from './deliveryBudget';
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
  /** Deliveries the destination acknowledged (claimed or not). */
  delivered: number;
  /** Outbox deliveries tried that failed; they stay pending with a later next attempt. */
  failed: number;
  /** Outbox deliveries not tried (destination skipped, failing, paced or out of time). */
  postponed: number;
  /** Rows another worker changed first; that worker's state stands. */
  conflicts: number;
  /** What failed, per destination label; never a URL. */
  failures: string[];
  /** Outcome writes that storage refused; those rows are retried when their lease ends. */
  storageErrors: string[];
  /** What became of each delivery that had no outbox row (an alert storage did not take). */
  unclaimed: UnclaimedOutcome[];
}

/** One alert sent, or not, to one destination without a claim. */
export interface UnclaimedOutcome {
  alertId: string;
  /** The destination's label, e.g. `teams#1`. */
  destination: string;
  delivered: boolean;
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
  /** Wait before the next attempt after `attempts` failed ones (or skips). */
  retryDelayMs?: (attempts: number) => number;
  /** ALERT_MAX_AGE_HOURS: no next attempt is set later than a delivery's expiry. */
  maxAgeMs?: number;
  /** Shared by the deliverers of one instance; a new one by default. */
  backlog?: OutcomeBacklog;
  now?: () => Date;
}

interface SendUnit {
  notification: Notification;
  work: DeliveryWork[];
}

/**
 * A lane waits at most this long for a Teams slot. A longer wait (the webhook paused after a
 * throttling answer, or a queue of other lanes' requests) gives the lane's rows back to the
 * outbox, due when the slot is, so pacing never holds a batch for long nor outlasts a lease.
 */
export const MAX_PACING_WAIT_MS = 5_000;
/** Room left in a lease after an attempt's timeout, for writing its outcome. */
const OUTCOME_WRITE_MARGIN_MS = 5_000;
/**
 * The longest Retry-After the outbox honours when it sets the next attempt, like the longest
 * backoff; beyond it the destination is asked again anyway (and a row never waits past its
 * expiry, whatever it was asked).
 */
export const MAX_HONOURED_RETRY_AFTER_MS = 30 * 60_000;

export function emptyDeliveryReport(): OutboxDeliveryReport {
  return {
    delivered: 0,
    failed: 0,
    postponed: 0,
    conflicts: 0,
    failures: [],
    storageErrors: [],
    unclaimed: [],
  };
}

export function addDeliveryReports(total: OutboxDeliveryReport, part: OutboxDeliveryReport): void {
  total.delivered += part.delivered;
  total.failed += part.failed;
  total.postponed += part.postponed;
  total.conflicts += part.conflicts;
  total.failures.push(...part.failures);
  total.storageErrors.push(...part.storageErrors);
  total.unclaimed.push(...part.unclaimed);
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
 *
 * Every send ends inside the lease of the rows it carries: leases are renewed to cover the
 * pacing wait and the longest delivery, and an attempt that could not end in time is not
 * started (its rows are given back instead), so no other worker can take a row mid-send.
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

  /**
   * Whether this instance turns deliveries to the destination away now: its circuit is open,
   * or its Teams pacing would wait longer than a lane may. A redelivery pass then leaves its
   * rows alone rather than lease them only to give them back.
   */
  isHoldingBack(destination: Destination): boolean {
    const key = destinationKey(destination);
    const paced = destination.kind === 'teams' ? this.options.teamsLimiter.waitMs(key) : 0;

    return this.options.breaker.state(key) === 'open' || paced > MAX_PACING_WAIT_MS;
  }

  async deliver(
    work: DeliveryWork[],
    { budgetMs }: DeliveryBudget = {},
  ): Promise<OutboxDeliveryReport> {
    const deadline = budgetMs === undefined ? undefined : this.now().getTime() + budgetMs;
    const lanes = new Map<string, DeliveryWork[]>();
    for (const item of work) {
      const key = destinationKey(item.destination);
      lanes.set(key, [...(lanes.get(key) ?? []), item]);
    }

    const reports = await Promise.all(
      [...lanes.entries()].map(([key, items]) => this.runLane(key, items, deadline)),
    );
    const total = emptyDeliveryReport();
    reports.forEach((report) => addDeliveryReports(total, report));

    return total;
  }

  private async runLane(
    key: string,
    work: DeliveryWork[],
    deadline: number | undefined,
  ): Promise<OutboxDeliveryReport> {
    const report = emptyDeliveryReport();
    const destination = work[0]!.destination;
    const unclaimed = work.filter((item) => item.delivery === undefined);
    const claimed = work.filter((item) => item.delivery !== undefined);

    if (unclaimed.length > 0) {
      await this.sendUnclaimed(key, destination, unclaimed, report);
    }
    if (claimed.length > 0) {
      await this.sendClaimed(key, destination, claimed, deadline, report);
    }

    return report;
  }

  /**
   * Work without an outbox row (an alert storage did not take) has nowhere to wait: it is
   * sent now or never, so neither an open circuit nor the time budget holds it back. The lane
   * still ends at the first failure saying the destination is down; the alerts left are
   * reported unsent, and the batch handler logs each of them in full.
   */
  private async sendUnclaimed(
    key: string,
    destination: Destination,
    work: DeliveryWork[],
    report: OutboxDeliveryReport,
  ): Promise<void> {
    const units = this.unitsFor(destination, work);
    const outcomeOf = (unit: SendUnit, delivered: boolean) =>
      unit.work.map((item) => ({
        alertId: item.alert.alertId,
        destination: item.destination.label,
        delivered,
      }));

    for (let index = 0; index < units.length; index += 1) {
      const unit = units[index]!;
      const { outcome } = await this.send(key, destination, unit.notification, undefined);

      if (outcome.delivered) {
        this.options.breaker.recordSuccess(key);
        report.delivered += unit.work.length;
        report.unclaimed.push(...outcomeOf(unit, true));
        continue;
      }

      const unavailable = destinationUnavailable(outcome);
      this.recordAnswer(key, unavailable);
      report.failures.push(outcome.error?.message ?? `Delivery to ${destination.label} failed`);
      report.unclaimed.push(...outcomeOf(unit, false));
      if (unavailable) {
        report.unclaimed.push(...units.slice(index + 1).flatMap((next) => outcomeOf(next, false)));

        return;
      }
    }
  }

  private async sendClaimed(
    key: string,
    destination: Destination,
    work: DeliveryWork[],
    deadline: number | undefined,
    report: OutboxDeliveryReport,
  ): Promise<void> {
    const units = this.unitsFor(destination, work);

    for (let index = 0; index < units.length; index += 1) {
      const unit = units[index]!;
      const now = this.now().getTime();
      if (deadline !== undefined && now >= deadline) {
        // Out of time: what is left is given back, due now, for the next timer run.
        await this.giveBack(units.slice(index), new Date(now), report);

        return;
      }
      const pacingWaitMs = this.pacingWaitMs(key, destination);
      if (pacingWaitMs > MAX_PACING_WAIT_MS) {
        await this.giveBack(units.slice(index), new Date(now + pacingWaitMs), report);

        return;
      }

      let held: DeliveryWork[];
      try {
        held = await this.renewLeases(unit.work, report, pacingWaitMs);
      } catch (error) {
        // Without storage no lease can be checked; the rows wait for their lease to end.
        report.storageErrors.push(describe(error));
        report.postponed += units.slice(index).reduce((sum, next) => sum + next.work.length, 0);

        return;
      }
      if (held.length === 0) {
        continue;
      }
      const rest = [{ ...unit, work: held }, ...units.slice(index + 1)];
      if (!this.options.breaker.tryAcquire(key)) {
        await this.skip(rest, this.options.breaker.retryAt(key) ?? now, 0, report);

        return;
      }

      const notification =
        held.length === unit.work.length ? unit.notification : notificationFor(held);
      const leaseEnd = Math.min(...held.map((item) => Date.parse(item.delivery!.nextAttemptAt)));
      const { outcome, askedToWaitMs } = await this.send(key, destination, notification, leaseEnd);

      if (outcome.deferred === true) {
        // Nothing was sent: the pacing wait grew past what the lease allows meanwhile.
        this.options.breaker.release(key);
        const until = this.now().getTime() + this.pacingWaitMs(key, destination);
        await this.giveBack(rest, new Date(until), report);

        return;
      }
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
      this.recordAnswer(key, unavailable);
      const problem = outcome.error?.message ?? `Delivery to ${destination.label} failed`;
      report.failures.push(problem);
      report.failed += held.length;
      const waitMs = Math.min(
        Math.max(askedToWaitMs ?? 0, outcome.retryAfterMs ?? 0),
        MAX_HONOURED_RETRY_AFTER_MS,
      );
      await this.settle(held, report, (row, at) =>
        this.options.outbox.recordFailure(
          row,
          at,
          problem,
          this.notAfterExpiry(
            row,
            at.getTime() + Math.max(this.retryDelayMs(row.attempts + 1), waitMs),
          ),
        ),
      );

      if (unavailable) {
        const resumeAt = this.options.breaker.retryAt(key) ?? this.now().getTime();
        await this.skip(units.slice(index + 1), resumeAt, waitMs, report);

        return;
      }
    }
  }

  /** One HTTP delivery, paced for Teams; `leaseEnd` bounds when an attempt may start. */
  private async send(
    key: string,
    destination: Destination,
    notification: Notification,
    leaseEnd: number | undefined,
  ): Promise<{ outcome: DeliveryOutcome; askedToWaitMs: number | undefined }> {
    let askedToWaitMs: number | undefined;
    const outcome = await deliverNotification(destination, notification, {
      ...this.options.delivery,
      beforeAttempt: () => this.mayAttempt(key, destination, leaseEnd),
      onThrottled: (retryAfterMs) => {
        askedToWaitMs = retryAfterMs ?? askedToWaitMs;
        if (destination.kind === 'teams') {
          this.options.teamsLimiter.pause(key, retryAfterMs ?? 1000);
        }
      },
    });

    return { outcome, askedToWaitMs };
  }

  /**
   * Whether an attempt may start now. With a lease, it must be able to time out and have its
   * outcome written before the lease ends, or another worker could take the row and send it
   * as well; so the Teams slot is waited for only as long as that leaves (and at most
   * MAX_PACING_WAIT_MS). Without a lease (unclaimed work) the slot is always waited for.
   */
  private async mayAttempt(
    key: string,
    destination: Destination,
    leaseEnd: number | undefined,
  ): Promise<boolean> {
    const allowedMs =
      leaseEnd === undefined
        ? Number.POSITIVE_INFINITY
        : leaseEnd -
          this.now().getTime() -
          this.options.delivery.timeoutMs -
          OUTCOME_WRITE_MARGIN_MS;
    if (allowedMs < 0) {
      return false;
    }
    if (destination.kind === 'teams') {
      return this.options.teamsLimiter.acquireWithin(
        key,
        leaseEnd === undefined ? allowedMs : Math.min(MAX_PACING_WAIT_MS, allowedMs),
      );
    }

    return (await this.options.delivery.beforeAttempt?.()) !== false;
  }

  private pacingWaitMs(key: string, destination: Destination): number {
    return destination.kind === 'teams' ? this.options.teamsLimiter.waitMs(key) : 0;
  }

  /** A failure that says the destination is down counts against its circuit; a 4xx does not. */
  private recordAnswer(key: string, unavailable: boolean): void {
    if (unavailable) {
      this.options.breaker.recordFailure(key);
    } else {
      // The destination answered (a 4xx for this message): it is up, only this alert failed.
      this.options.breaker.recordSuccess(key);
    }
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
   * Extends the leases that could run out during the next send (the pacing wait, then the
   * longest delivery and its outcome write) and returns the work still held; a row another
   * worker took meanwhile is dropped (it is that worker's now).
   */
  private async renewLeases(
    work: DeliveryWork[],
    report: OutboxDeliveryReport,
    pacingWaitMs: number,
  ): Promise<DeliveryWork[]> {
    const now = this.now().getTime();
    const needed =
      pacingWaitMs + longestDeliveryMs(this.options.delivery) + OUTCOME_WRITE_MARGIN_MS;
    const renewed = await Promise.all(
      work.map(async (item) => {
        if (item.delivery === undefined || Date.parse(item.delivery.nextAttemptAt) - now > needed) {
          return item;
        }

        const delivery = await this.options.outbox.lease(
          item.delivery,
          new Date(now + Math.max(this.options.leaseMs, needed)),
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

  /** Gives rows back untried, due at `until`, without counting a skip. */
  private async giveBack(units: SendUnit[], until: Date, report: OutboxDeliveryReport) {
    const work = units.flatMap((unit) => unit.work);
    report.postponed += work.length;
    await this.settle(work, report, (row) => this.options.outbox.postpone(row, until));
  }

  /**
   * Gives rows back untried because their destination is failing: due no earlier than
   * `resumeAt` (the circuit's end) nor than a backoff that grows with each skip, so a long
   * outage's backlog is not listed again every cooldown; never later than the row's expiry.
   */
  private async skip(
    units: SendUnit[],
    resumeAt: number,
    waitMs: number,
    report: OutboxDeliveryReport,
  ) {
    const work = units.flatMap((unit) => unit.work);
    report.postponed += work.length;
    await this.settle(work, report, (row, at) =>
      this.options.outbox.skip(
        row,
        this.notAfterExpiry(
          row,
          Math.max(resumeAt, at.getTime() + Math.max(this.retryDelayMs(row.skips + 1), waitMs)),
        ),
      ),
    );
  }

  /** `atMs` as a date, but no later than the row's expiry (when the age limit is known). */
  private notAfterExpiry(row: OutboxDelivery, atMs: number): Date {
    const expiresAt =
      this.options.maxAgeMs === undefined
        ? Number.NaN
        : Date.parse(row.pendingSince) + this.options.maxAgeMs;
    const bounded = Number.isFinite(expiresAt) ? Math.min(atMs, expiresAt) : atMs;

    // Every wait above is bounded; this only keeps a corrupt row from making an Invalid Date.
    return new Date(Number.isFinite(bounded) ? bounded : this.now().getTime());
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
