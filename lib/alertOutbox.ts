import { createHash } from 'node:crypto';

import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

import type { Alert } from './alert';
import { AlertNotStorableError } from './alertNotStorableError';
import type { Destination } from './destination';
import { storableText } from './storableText';
import { StorageUnavailableError } from './storageUnavailableError';
import {
  isAlreadyExists,
  isChangedByAnother,
  isNotFound,
  isTableMissing,
  tableErrorStatus,
} from './tableErrorStatus';

/** The row holding the alert itself; it is also the claim on the alert id. */
export const ALERT_ROW_KEY = 'alert';
const DELIVERY_ROW_PREFIX = 'delivery-';

/** `retargeted`: moved to another destination by `replay pending --retarget` (see retarget). */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'retargeted';

/**
 * One alert's delivery to one destination, as its outbox row says. A row is due when it is
 * pending and `nextAttemptAt` has passed; a worker that is about to send moves
 * `nextAttemptAt` forward first (its lease), and every write is conditional on the ETag it
 * read, so two workers never both act on the same state.
 */
export interface OutboxDelivery {
  alertId: string;
  /** Stable per destination URL (a digest, never the URL). */
  destinationKey: string;
  /** The destination's label when the alert was stored, e.g. `teams#1`. */
  destination: string;
  status: DeliveryStatus;
  /** HTTP deliveries tried so far (each may have retried inside it). */
  attempts: number;
  /**
   * Times it was passed over since its last attempt because its destination was failing (an
   * open circuit, or an earlier failure in the same pass); each skip waits longer.
   */
  skips: number;
  createdAt: string;
  /** Where the age limit counts from: the claim, or the last replay. */
  pendingSince: string;
  nextAttemptAt: string;
  /** Set while a worker holds the delivery (it is sending); empty otherwise. */
  leasedUntil: string;
  lastAttemptAt: string;
  /** What went wrong last, naming the destination by label; never a URL. */
  lastError: string;
  deliveredAt: string;
  etag: string;
}

export type ClaimOutcome =
  { kind: 'claimed'; deliveries: OutboxDelivery[] } | { kind: 'already-claimed' };

type DeliveryColumns = Omit<OutboxDelivery, 'alertId' | 'etag'>;

// Type aliases, not interfaces: the Tables SDK wants entities indexable by column name.
type DeliveryEntity = DeliveryColumns & {
  partitionKey: string;
  rowKey: string;
  kind: 'delivery';
};

type AlertEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'alert';
  ruleId: string;
  auditId: string;
  severity: string;
  reason: string;
  inviter: string;
  invitee: string;
  detectedAt: string;
  alertJson: string;
};

/**
 * A digest of the destination URL, so a pending alert keeps following its webhook when the
 * destinations are reordered or one is added, and no URL (which may carry a signature) is
 * ever written to the table.
 */
export function destinationKey(destination: Destination): string {
  const digest = createHash('sha256').update(destination.url.href).digest('hex');

  return `${destination.kind}-${digest.slice(0, 12)}`;
}

/**
 * The alert outbox in Table Storage. Each alert is one partition (its alert id): a row with
 * the alert JSON and one row per destination with its delivery state. All rows of an alert
 * are inserted in one transaction, so inserting them is also the claim: a second insert of
 * the same alert id, from a redelivered batch or a concurrent instance, fails with 409 as a
 * whole and sends nothing.
 */
export class AlertOutbox {
  private tableReady: Promise<void> | undefined;

  constructor(private readonly client: TableClient) {}

  get tableName(): string {
    return this.client.tableName;
  }

  /**
   * Claims the alert and stores it with one pending delivery per destination, leased to the
   * caller until `leaseUntil`. Throws StorageUnavailableError when storage cannot answer, and
   * AlertNotStorableError when it refuses this alert's rows (HTTP 400 or 413), which a retry
   * would not change.
   */
  async claim(
    alert: Alert,
    destinations: Destination[],
    now: Date,
    leaseUntil: Date,
  ): Promise<ClaimOutcome> {
    await this.ensureTable();

    const createdAt = now.toISOString();
    const deliveries: DeliveryEntity[] = destinations.map((destination) => ({
      partitionKey: alert.alertId,
      rowKey: deliveryRowKey(destinationKey(destination)),
      kind: 'delivery',
      destinationKey: destinationKey(destination),
      destination: destination.label,
      status: 'pending',
      attempts: 0,
      skips: 0,
      createdAt,
      pendingSince: createdAt,
      nextAttemptAt: leaseUntil.toISOString(),
      leasedUntil: leaseUntil.toISOString(),
      lastAttemptAt: '',
      lastError: '',
      deliveredAt: '',
    }));
    const actions: TransactionAction[] = [
      ['create', alertEntity(alert)],
      ...deliveries.map((entity): TransactionAction => ['create', entity]),
    ];

    let etags: (string | undefined)[];
    try {
      const response = await this.client.submitTransaction(actions);
      etags = response.subResponses.map((subResponse) => subResponse.etag);
    } catch (error) {
      if (isAlreadyExists(error)) {
        return { kind: 'already-claimed' };
      }
      if (isRefusedEntity(error)) {
        throw new AlertNotStorableError(
          this.tableName,
          alert.alertId,
          tableErrorStatus(error) ?? 400,
          errorCodeOf(error),
          { cause: error },
        );
      }
      throw this.unavailable(`store alert ${alert.alertId}`, error);
    }

    const claimed: OutboxDelivery[] = [];
    for (const [index, entity] of deliveries.entries()) {
      const etag = etags[index + 1] ?? (await this.readDelivery(entity))?.etag;
      if (etag !== undefined) {
        claimed.push(toDelivery(entity, etag));
      }
    }

    return { kind: 'claimed', deliveries: claimed };
  }

  /** The stored alert, or undefined when there is none (or its JSON is unreadable). */
  async readAlert(alertId: string): Promise<Alert | undefined> {
    await this.ensureTable();

    let entity: AlertEntity;
    try {
      entity = await this.client.getEntity<AlertEntity>(alertId, ALERT_ROW_KEY);
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw this.unavailable(`read alert ${alertId}`, error);
    }

    try {
      return JSON.parse(entity.alertJson) as Alert;
    } catch {
      // Only this code writes the column; an unreadable value is treated as a missing alert.
      return undefined;
    }
  }

  /**
   * Pending deliveries to one destination whose next attempt is due by `now`, at most
   * `limit`. One query per destination, so a destination with a large backlog takes only its
   * own share of a redelivery pass.
   */
  async listDueFor(key: string, now: Date, limit: number): Promise<OutboxDelivery[]> {
    return this.list(
      odata`RowKey eq ${deliveryRowKey(key)} and status eq ${'pending'} and nextAttemptAt le ${now.toISOString()}`,
      limit,
      'list due alerts',
    );
  }

  /**
   * Due pending deliveries to one destination that have been pending since before
   * `pendingBefore` (too old: to be given up), at most `limit`.
   */
  async listExpiredFor(
    key: string,
    now: Date,
    pendingBefore: Date,
    limit: number,
  ): Promise<OutboxDelivery[]> {
    return this.list(
      odata`RowKey eq ${deliveryRowKey(key)} and status eq ${'pending'} and nextAttemptAt le ${now.toISOString()} and pendingSince lt ${pendingBefore.toISOString()}`,
      limit,
      'list expired alerts',
    );
  }

  /** Due pending deliveries to any destination but those given, at most `limit`. */
  async listDueExcept(keys: string[], now: Date, limit: number): Promise<OutboxDelivery[]> {
    const others = keys.map((key) => odata` and RowKey ne ${deliveryRowKey(key)}`).join('');

    return this.list(
      `${odata`status eq ${'pending'} and nextAttemptAt le ${now.toISOString()}`}${others}`,
      limit,
      'list due alerts',
    );
  }

  /** Deliveries in one state, for operators and replay. */
  async listByStatus(status: DeliveryStatus, limit: number): Promise<OutboxDelivery[]> {
    return this.list(odata`status eq ${status}`, limit, `list ${status} alerts`);
  }

  /**
   * Moves the next attempt to `until` so no other worker takes the delivery meanwhile.
   * Undefined when another worker changed it first (or it is gone).
   */
  lease(delivery: OutboxDelivery, until: Date): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      { nextAttemptAt: until.toISOString(), leasedUntil: until.toISOString() },
      'lease',
    );
  }

  recordDelivered(delivery: OutboxDelivery, at: Date): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      {
        status: 'delivered',
        leasedUntil: '',
        attempts: delivery.attempts + 1,
        lastAttemptAt: at.toISOString(),
        deliveredAt: at.toISOString(),
      },
      'record a delivery',
    );
  }

  recordFailure(
    delivery: OutboxDelivery,
    at: Date,
    problem: string,
    nextAttemptAt: Date,
  ): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      {
        attempts: delivery.attempts + 1,
        skips: 0,
        leasedUntil: '',
        lastAttemptAt: at.toISOString(),
        lastError: storableText(problem, 1024),
        nextAttemptAt: nextAttemptAt.toISOString(),
      },
      'record a failed delivery',
    );
  }

  /**
   * Gives the delivery back without an attempt and without counting a skip: it could not be
   * sent now for a reason of this instance's (pacing, time budget, a replay making it due).
   */
  postpone(delivery: OutboxDelivery, until: Date): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      { nextAttemptAt: until.toISOString(), leasedUntil: '' },
      'postpone',
    );
  }

  /** Gives the delivery back without an attempt, counting a skip (its destination is failing). */
  skip(delivery: OutboxDelivery, until: Date): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      { nextAttemptAt: until.toISOString(), leasedUntil: '', skips: delivery.skips + 1 },
      'postpone',
    );
  }

  recordDead(delivery: OutboxDelivery, reason: string): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      { status: 'dead', leasedUntil: '', lastError: storableText(reason, 1024) },
      'record an expired delivery',
    );
  }

  /** Makes a delivery pending again with a fresh age, to be sent by the next redelivery. */
  reopen(delivery: OutboxDelivery, at: Date): Promise<OutboxDelivery | undefined> {
    return this.update(
      delivery,
      {
        status: 'pending',
        pendingSince: at.toISOString(),
        nextAttemptAt: at.toISOString(),
        leasedUntil: '',
      },
      'reopen',
    );
  }

  /**
   * Moves a pending delivery to another destination, due now: a new delivery row for it and
   * the old row marked `retargeted`, in one transaction conditional on the old row's ETag.
   * Undefined when another worker changed the row first, or the alert already has a
   * delivery for that destination.
   */
  async retarget(
    delivery: OutboxDelivery,
    destination: Destination,
    at: Date,
  ): Promise<OutboxDelivery | undefined> {
    const key = destinationKey(destination);
    const moved: DeliveryEntity = {
      partitionKey: delivery.alertId,
      rowKey: deliveryRowKey(key),
      kind: 'delivery',
      destinationKey: key,
      destination: destination.label,
      status: 'pending',
      attempts: delivery.attempts,
      skips: 0,
      createdAt: delivery.createdAt,
      pendingSince: delivery.pendingSince,
      nextAttemptAt: at.toISOString(),
      leasedUntil: '',
      lastAttemptAt: delivery.lastAttemptAt,
      lastError: delivery.lastError,
      deliveredAt: '',
    };
    const actions: TransactionAction[] = [
      [
        'update',
        {
          partitionKey: delivery.alertId,
          rowKey: deliveryRowKey(delivery.destinationKey),
          status: 'retargeted',
          leasedUntil: '',
          lastError: storableText(
            `moved to ${destination.label} by replay pending --retarget at ${at.toISOString()}`,
            1024,
          ),
        },
        'Merge',
        { etag: delivery.etag },
      ],
      ['create', moved],
    ];

    try {
      const response = await this.client.submitTransaction(actions);
      const etag = response.subResponses[1]?.etag ?? (await this.readDelivery(moved))?.etag;

      return etag === undefined ? undefined : toDelivery(moved, etag);
    } catch (error) {
      if (isChangedByAnother(error) || isNotFound(error) || isAlreadyExists(error)) {
        return undefined;
      }
      throw this.unavailable(
        `retarget alert ${delivery.alertId} from ${delivery.destination}`,
        error,
      );
    }
  }

  private async update(
    delivery: OutboxDelivery,
    changes: Partial<DeliveryColumns>,
    operation: string,
  ): Promise<OutboxDelivery | undefined> {
    try {
      const response = await this.client.updateEntity(
        {
          partitionKey: delivery.alertId,
          rowKey: deliveryRowKey(delivery.destinationKey),
          ...changes,
        },
        'Merge',
        { etag: delivery.etag },
      );

      return { ...delivery, ...changes, etag: response.etag ?? delivery.etag };
    } catch (error) {
      // A missing table is not a missing row: storage lost it, and the write must be retried
      // (a delivered outcome waiting in OutcomeBacklog would otherwise be dropped).
      if (isChangedByAnother(error) || (isNotFound(error) && !isTableMissing(error))) {
        return undefined;
      }
      throw this.unavailable(
        `${operation} for alert ${delivery.alertId} to ${delivery.destination}`,
        error,
      );
    }
  }

  private async list(filter: string, limit: number, operation: string): Promise<OutboxDelivery[]> {
    await this.ensureTable();

    const found: OutboxDelivery[] = [];
    try {
      const pages = this.client
        .listEntities<DeliveryEntity>({ queryOptions: { filter } })
        .byPage({ maxPageSize: Math.min(limit, 1000) });
      for await (const page of pages) {
        for (const entity of page) {
          if (entity.kind === 'delivery' && entity.etag !== undefined) {
            found.push(toDelivery(entity, entity.etag));
          }
          if (found.length >= limit) {
            return found;
          }
        }
      }
    } catch (error) {
      throw this.unavailable(operation, error);
    }

    return found;
  }

  private async readDelivery(entity: DeliveryEntity): Promise<OutboxDelivery | undefined> {
    try {
      const stored = await this.client.getEntity<DeliveryEntity>(
        entity.partitionKey,
        entity.rowKey,
      );

      return stored.etag === undefined ? undefined : toDelivery(stored, stored.etag);
    } catch (error) {
      throw this.unavailable(`read alert ${entity.partitionKey}`, error);
    }
  }

  /** The error to throw; a missing table is created again by the next call. */
  private unavailable(operation: string, error: unknown): StorageUnavailableError {
    if (isTableMissing(error)) {
      this.tableReady = undefined;
    }

    return new StorageUnavailableError(this.tableName, operation, { cause: error });
  }

  private ensureTable(): Promise<void> {
    // createTable answers success when the table exists; a failure is retried by the next call.
    this.tableReady ??= this.client.createTable().then(
      () => undefined,
      (error: unknown) => {
        this.tableReady = undefined;
        throw new StorageUnavailableError(this.tableName, 'be created', { cause: error });
      },
    );

    return this.tableReady;
  }
}

function deliveryRowKey(key: string): string {
  return `${DELIVERY_ROW_PREFIX}${key}`;
}

function alertEntity(alert: Alert): AlertEntity {
  const inviter =
    alert.inviter.userPrincipalName ??
    alert.inviter.appId ??
    alert.inviter.servicePrincipalId ??
    alert.inviter.displayName ??
    '';

  return {
    partitionKey: alert.alertId,
    rowKey: ALERT_ROW_KEY,
    kind: 'alert',
    ruleId: alert.ruleId,
    auditId: storableText(alert.auditId, 1024),
    severity: alert.severity,
    reason: alert.reason,
    inviter: storableText(inviter, 256),
    invitee: storableText(alert.invitee.email ?? alert.invitee.userPrincipalName ?? '', 256),
    detectedAt: alert.detectedAt,
    alertJson: storableJson(alert),
  };
}

/**
 * The alert as JSON that Table Storage accepts and that parses back to the same alert.
 * JSON.stringify escapes control characters and lone surrogates but keeps U+FFFE and U+FFFF,
 * which the service refuses (see storableText); written as `\ufffe` and `\uffff` they are
 * still the same characters once parsed.
 */
export function storableJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\ufffe\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16)}`,
  );
}

/** 400 (an invalid entity) or 413 (too large): the service refuses these rows as they are. */
function isRefusedEntity(error: unknown): boolean {
  const status = tableErrorStatus(error);

  return status === 400 || status === 413;
}

function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;

  return typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code) ? code : undefined;
}

function toDelivery(entity: DeliveryColumns & { partitionKey: string }, etag: string) {
  const delivery: OutboxDelivery = {
    alertId: entity.partitionKey,
    destinationKey: entity.destinationKey,
    destination: entity.destination,
    status: entity.status,
    attempts: entity.attempts,
    // Rows written before skips were counted have none.
    skips: typeof entity.skips === 'number' ? entity.skips : 0,
    createdAt: entity.createdAt,
    pendingSince: entity.pendingSince,
    nextAttemptAt: entity.nextAttemptAt,
    leasedUntil: entity.leasedUntil ?? '',
    lastAttemptAt: entity.lastAttemptAt,
    lastError: entity.lastError,
    deliveredAt: entity.deliveredAt,
    etag,
  };

  return delivery;
}
