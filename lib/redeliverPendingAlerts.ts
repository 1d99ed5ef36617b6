import type { Alert } from './alert';
import { destinationKey, type AlertOutbox, type OutboxDelivery } from './alertOutbox';
import type { DeadLetterStore } from './deadLetterStore';
import { remainingBudgetMs } from './deliveryBudget';
import type { Destination } from './destination';
import { mapWithConcurrency } from './mapWithConcurrency';
import type { DeliveryWork, OutboxDeliverer, OutboxDeliveryReport } from './outboxDeliverer';

export interface RedeliveryDependencies {
  outbox: AlertOutbox;
  deliverer: OutboxDeliverer;
  destinations: Destination[];
  /** Where expired alerts are kept; without it they are only logged. */
  deadLetters: DeadLetterStore | undefined;
  /** A delivery pending for longer than this is given up: dead-lettered and logged. */
  maxAgeMs: number;
  leaseMs: number;
  /**
   * Due deliveries looked at per destination per run, and as many again for destinations no
   * longer configured: one run stays well inside the timer's period, and one destination's
   * backlog never takes another's share.
   */
  maxPerDestination?: number;
  /** How much longer a lease that ended without an outcome is left alone; one lease by default. */
  leaseGraceMs?: number;
  now?: () => Date;
}

/** An alert one destination never acknowledged in time. */
export interface ExpiredDelivery {
  alertId: string;
  auditId: string | undefined;
  destination: string;
  attempts: number;
  pendingSince: string;
  lastError: string;
}

export interface RedeliveryReport extends Omit<OutboxDeliveryReport, 'unclaimed'> {
  /** Pending deliveries that were due (of those listed: see heldBack). */
  due: number;
  /** Due deliveries this run took (the others were taken by another worker first). */
  taken: number;
  expired: ExpiredDelivery[];
  /** Due deliveries for a destination no longer configured here; set aside until they expire. */
  unknownDestination: number;
  /**
   * Due deliveries whose lease ended without an outcome, left alone for one more lease: the
   * worker that held it may have sent the alert and be about to record that.
   */
  awaitingLeaseGrace: number;
  /**
   * Destinations this instance holds back (open circuit, or a paused Teams webhook): only
   * their expired deliveries were listed, to be given up on time.
   */
  heldBack: string[];
}

const DEFAULT_MAX_PER_DESTINATION = 200;
const READ_CONCURRENCY = 8;

export function emptyRedeliveryReport(): RedeliveryReport {
  return {
    delivered: 0,
    failed: 0,
    postponed: 0,
    conflicts: 0,
    failures: [],
    storageErrors: [],
    due: 0,
    taken: 0,
    expired: [],
    unknownDestination: 0,
    awaitingLeaseGrace: 0,
    heldBack: [],
  };
}

/**
 * One pass of redelivery over the outbox: for each destination, up to its share of pending
 * deliveries whose next attempt is due is leased (ETag-conditional, so a concurrent worker
 * cannot take one too), then sent the way the batch handler sends, with backoff, circuit
 * breaker, Teams pacing and digests. A delivery older than the age limit is marked dead and
 * dead-lettered instead; that is done even for a destination held back by its circuit.
 */
export async function redeliverPendingAlerts(
  dependencies: RedeliveryDependencies,
): Promise<RedeliveryReport> {
  const now = dependencies.now ?? (() => new Date());
  const { outbox, deliverer } = dependencies;
  await deliverer.flushBacklog();
  const startedAt = now();
  const quota = dependencies.maxPerDestination ?? DEFAULT_MAX_PER_DESTINATION;
  const graceMs = dependencies.leaseGraceMs ?? dependencies.leaseMs;
  const report = emptyRedeliveryReport();

  const byKey = new Map(
    dependencies.destinations.map((destination) => [destinationKey(destination), destination]),
  );
  const expiredBefore = new Date(startedAt.getTime() - dependencies.maxAgeMs);
  const listings = await Promise.all([
    ...[...byKey.entries()].map(([key, destination]) => {
      if (deliverer.isHoldingBack(destination)) {
        report.heldBack.push(destination.label);

        return outbox.listExpiredFor(key, startedAt, expiredBefore, quota);
      }

      return outbox.listDueFor(key, startedAt, quota);
    }),
    outbox.listDueExcept([...byKey.keys()], startedAt, quota),
  ]);
  const due = listings.flat();
  report.due = due.length;

  const alerts = new Map<string, Promise<Alert | undefined>>();
  const readAlert = (alertId: string): Promise<Alert | undefined> => {
    let alert = alerts.get(alertId);
    if (alert === undefined) {
      alert = outbox.readAlert(alertId);
      alerts.set(alertId, alert);
    }

    return alert;
  };

  const leaseUntil = new Date(startedAt.getTime() + dependencies.leaseMs);
  const taken = await mapWithConcurrency(
    due,
    READ_CONCURRENCY,
    async (delivery): Promise<DeliveryWork | undefined> => {
      const leaseEndedAt =
        delivery.leasedUntil === '' ? Number.NaN : Date.parse(delivery.leasedUntil);
      if (Number.isFinite(leaseEndedAt) && startedAt.getTime() < leaseEndedAt + graceMs) {
        // Left alone, and not written to: a write would change the ETag that the worker's
        // pending outcome write (OutcomeBacklog) is conditional on.
        report.awaitingLeaseGrace += 1;

        return undefined;
      }

      const expired =
        startedAt.getTime() - Date.parse(delivery.pendingSince) > dependencies.maxAgeMs;
      const destination = byKey.get(delivery.destinationKey);
      if (!expired && destination === undefined) {
        // Set aside until it expires, so rows nobody here can send do not crowd out the rest
        // of each run's share; `replay pending` makes them due again if the URL comes back,
        // and `replay pending --retarget` moves them to the URL that replaced it.
        report.unknownDestination += 1;
        const expiresAt = Date.parse(delivery.pendingSince) + dependencies.maxAgeMs + 1_000;
        await outbox.postpone(delivery, new Date(expiresAt));

        return undefined;
      }

      const leased = await outbox.lease(delivery, leaseUntil);
      if (leased === undefined) {
        report.conflicts += 1;

        return undefined;
      }
      report.taken += 1;

      const alert = await readAlert(leased.alertId);
      if (expired || alert === undefined || destination === undefined) {
        await expire(dependencies, leased, alert, startedAt, report);

        return undefined;
      }

      return { alert, destination, delivery: leased };
    },
  );

  const work = taken.filter((item): item is DeliveryWork => item !== undefined);
  const delivery = await deliverer.deliver(work, {
    budgetMs: remainingBudgetMs(startedAt, now()),
  });
  report.delivered += delivery.delivered;
  report.failed += delivery.failed;
  report.postponed += delivery.postponed;
  report.conflicts += delivery.conflicts;
  report.failures.push(...delivery.failures);
  report.storageErrors.push(...delivery.storageErrors);

  return report;
}

async function expire(
  dependencies: RedeliveryDependencies,
  delivery: OutboxDelivery,
  alert: Alert | undefined,
  now: Date,
  report: RedeliveryReport,
): Promise<void> {
  const reason =
    alert === undefined
      ? 'the alert itself is missing from the outbox'
      : `not delivered within ${Math.round(dependencies.maxAgeMs / 3_600_000)} h; last error: ${
          delivery.lastError === '' ? 'none recorded' : delivery.lastError
        }`;

  // The dead letter first: if it cannot be written the delivery stays pending and is retried.
  await dependencies.deadLetters?.recordExpiredAlert(alert, delivery, reason, now);
  if ((await dependencies.outbox.recordDead(delivery, reason)) === undefined) {
    report.conflicts += 1;

    return;
  }

  report.expired.push({
    alertId: delivery.alertId,
    auditId: alert?.auditId,
    destination: delivery.destination,
    attempts: delivery.attempts,
    pendingSince: delivery.pendingSince,
    lastError: delivery.lastError,
  });
}
