import { retryChangeNotices, type ChangeNoticeRetryReport } from './adminApi/retryChangeNotices';
import { TableAllowlistAuditLog } from './adminApi/tableAllowlistAuditLog';
import { AlertOutbox } from './alertOutbox';
import { DirectAlertSink, type AlertSink } from './alertSink';
import { CachedAllowlist, type AllowlistProvider, type AllowlistSource } from './cachedAllowlist';
import { CircuitBreaker } from './circuitBreaker';
import { DeadLetterStore } from './deadLetterStore';
import { longestDeliveryMs, type DeliveryOptions } from './deliverNotification';
import type { OperatorLog } from './logRedeliveryReport';
import { OutboxAlertSink } from './outboxAlertSink';
import { OutboxDeliverer } from './outboxDeliverer';
import { OutcomeBacklog } from './outcomeBacklog';
import {
  emptyRedeliveryReport,
  redeliverPendingAlerts,
  type RedeliveryReport,
} from './redeliverPendingAlerts';
import { loadSettings, type Settings } from './settings';
import { TableAllowlistStore } from './tableAllowlistStore';
import { createTableClient } from './tableServiceClients';
import { TeamsRateLimiter } from './teamsRateLimiter';

export interface DetectorRuntime {
  settings: Settings;
  allowlist: AllowlistProvider;
  /** The outbox sink with Table Storage; without it alerts go out directly, unclaimed. */
  sink: AlertSink;
  /** Where unreadable records are kept; undefined without Table Storage. */
  deadLetters: DeadLetterStore | undefined;
  outbox: AlertOutbox | undefined;
  /** One redelivery pass over the outbox; without Table Storage there is nothing to do. */
  redeliver(): Promise<RedeliveryReport>;
  /** One pass over the allowlist-change notices the audit table still owes; logs to `log`. */
  retryChangeNotices(log: OperatorLog): Promise<ChangeNoticeRetryReport>;
  /**
   * Deliveries acknowledged while storage could not record them, still held in memory to be
   * written (see OutcomeBacklog). Stopping the instance while this is above 0 means those
   * alerts go out again once their leases end.
   */
  unrecordedDeliveries(): number;
  /**
   * Teams pacing for this instance. Allowlist-change notices go through it too, so a burst of
   * changes cannot get a notice throttled away while alerts keep their pace.
   */
  teamsLimiter: TeamsRateLimiter;
}

/** Timings the soak run and the tests shorten; production uses the defaults. */
export interface RuntimeOverrides {
  delivery?: Partial<DeliveryOptions>;
  retryDelayMs?: (attempts: number) => number;
  leaseMs?: number;
  /** Due deliveries per destination per redelivery pass. */
  redeliveryQuota?: number;
  /** How often deliveries storage could not record are written again (OutcomeBacklog). */
  backlogFlushIntervalMs?: number;
  now?: () => Date;
}

/**
 * The batch handler tries each alert briefly: two attempts and Retry-After waited out only up
 * to 10 s, so that a slow destination holds the partition as little as possible. The timer
 * then retries with the full settings.
 */
const INLINE_MAX_ATTEMPTS = 2;
const INLINE_MAX_RETRY_AFTER_MS = 10_000;
/** The longest Retry-After a notice retry waits out before leaving it to the next pass. */
const NOTICE_MAX_RETRY_AFTER_MS = 10_000;
/** Beyond the longest single delivery, room for pacing waits and storage round trips. */
const LEASE_MARGIN_MS = 60_000;

/** Reads the allowlist from its table; invalid entities are left out (they approve nothing). */
export class TableAllowlistSource implements AllowlistSource {
  constructor(
    private readonly store: TableAllowlistStore,
    private readonly onProblem: (problem: string) => void = () => undefined,
  ) {}

  async readAll() {
    const listing = await this.store.listEntries();
    listing.problems.forEach(this.onProblem);

    return listing.entries;
  }
}

/** Without allowlist storage nothing can be approved: every invitation alerts. */
class MissingAllowlist implements AllowlistProvider {
  get(): Promise<never> {
    return Promise.reject(new Error('no allowlist storage is configured (set TABLES_ENDPOINT)'));
  }
}

/**
 * Wires settings to the allowlist, the outbox, the dead-letter table and the destinations.
 * Nothing here touches the network; tables are created on first use. Throws
 * ConfigurationError. One runtime is one instance: its circuit breakers and Teams pacing
 * are shared by every invocation it serves.
 */
export function createDetectorRuntime(
  env: Record<string, string | undefined>,
  overrides: RuntimeOverrides = {},
): DetectorRuntime {
  const settings = loadSettings(env);
  const allowlist =
    settings.tables === undefined
      ? new MissingAllowlist()
      : new CachedAllowlist(
          new TableAllowlistSource(
            new TableAllowlistStore(createTableClient(settings.tables, settings.allowlistTable)),
          ),
          settings.allowlistCacheTtlMs,
        );

  const delivery: DeliveryOptions = { ...settings.delivery, ...overrides.delivery };
  const teamsLimiter = new TeamsRateLimiter({
    requestsPerSecond: settings.reliability.teamsMaxRequestsPerSecond,
  });
  if (settings.tables === undefined) {
    return {
      settings,
      allowlist,
      sink: new DirectAlertSink(settings.destinations, delivery, teamsLimiter),
      deadLetters: undefined,
      outbox: undefined,
      redeliver: () => Promise.resolve(emptyRedeliveryReport()),
      retryChangeNotices: () => Promise.resolve({ owed: 0, settled: 0, stillOwed: 0, expired: 0 }),
      unrecordedDeliveries: () => 0,
      teamsLimiter,
    };
  }

  const { reliability } = settings;
  const now = overrides.now ?? (() => new Date());
  const leaseMs = overrides.leaseMs ?? longestDeliveryMs(delivery) + LEASE_MARGIN_MS;
  const outbox = new AlertOutbox(createTableClient(settings.tables, settings.alertOutboxTable));
  const deadLetters = new DeadLetterStore(
    createTableClient(settings.tables, settings.deadLetterTable),
  );
  const backlog = new OutcomeBacklog({ flushIntervalMs: overrides.backlogFlushIntervalMs });
  const shared = {
    outbox,
    breaker: new CircuitBreaker({
      failureThreshold: reliability.circuitBreakerFailures,
      cooldownMs: reliability.circuitBreakerCooldownMs,
      clock: () => now().getTime(),
    }),
    teamsLimiter,
    teamsDigestThreshold: reliability.teamsDigestThreshold,
    leaseMs,
    retryDelayMs: overrides.retryDelayMs,
    maxAgeMs: reliability.alertMaxAgeMs,
    backlog,
    now,
  };
  const inline = new OutboxDeliverer({
    ...shared,
    delivery: {
      ...delivery,
      maxAttempts: Math.min(INLINE_MAX_ATTEMPTS, delivery.maxAttempts),
      maxRetryAfterMs: Math.min(INLINE_MAX_RETRY_AFTER_MS, delivery.maxRetryAfterMs),
    },
  });
  const redelivery = new OutboxDeliverer({ ...shared, delivery });
  const auditLog = new TableAllowlistAuditLog(
    createTableClient(settings.tables, settings.allowlistAuditTable),
  );

  return {
    settings,
    allowlist,
    sink: new OutboxAlertSink({
      outbox,
      deliverer: inline,
      destinations: settings.destinations,
      leaseMs,
      now,
    }),
    deadLetters,
    outbox,
    redeliver: () =>
      redeliverPendingAlerts({
        outbox,
        deliverer: redelivery,
        destinations: settings.destinations,
        deadLetters,
        maxAgeMs: reliability.alertMaxAgeMs,
        leaseMs,
        maxPerDestination: overrides.redeliveryQuota,
        now,
      }),
    retryChangeNotices: (log) =>
      retryChangeNotices({
        auditLog,
        destinations: settings.destinations,
        // One try per destination and pass: the timer comes back every minute.
        delivery: {
          ...delivery,
          maxAttempts: 1,
          maxRetryAfterMs: Math.min(delivery.maxRetryAfterMs, NOTICE_MAX_RETRY_AFTER_MS),
        },
        teamsLimiter,
        maxAgeMs: reliability.alertMaxAgeMs,
        now,
        log,
      }),
    unrecordedDeliveries: () => backlog.size,
    teamsLimiter,
  };
}

export { emptyRedeliveryReport };

let instance: DetectorRuntime | undefined;

/**
 * The runtime of this Functions instance, built from app settings on first use. Every
 * function of the app uses it, so they share one set of circuit breakers and Teams pacing.
 */
export function instanceRuntime(): DetectorRuntime {
  instance ??= createDetectorRuntime(process.env);

  return instance;
}
