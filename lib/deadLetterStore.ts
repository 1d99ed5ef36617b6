import { createHash } from 'node:crypto';

import { odata, type TableClient } from '@azure/data-tables';

import type { Alert } from './alert';
import { storableJson, type OutboxDelivery } from './alertOutbox';
import { mapWithConcurrency } from './mapWithConcurrency';
import { storableText } from './storableText';
import { StorageUnavailableError } from './storageUnavailableError';
import { isChangedByAnother, isNotFound, isTableMissing } from './tableErrorStatus';

/** Raw text kept per dead-lettered record: enough to read and replay any real audit record. */
export const MAX_RAW_BYTES = 32_000;

export type DeadLetterKind = 'record' | 'alert';

/** An input element that could not be read, and where it came from. */
export interface UnreadableRecord {
  /** Stable across redeliveries of the same event, so a redelivery overwrites, not adds. */
  identity: string;
  /** `message 3 (sequence 1042), record 7`. */
  where: string;
  reason: string;
  /** The element as received: the message text, or the record as JSON. */
  rawText: string;
  eventHubPartition: string;
  sequenceNumber: string;
  offset: string;
  enqueuedTime: string;
  invocationId: string;
}

/** What the batch handler needs: somewhere to put unreadable records. */
export interface UnreadableRecordSink {
  recordUnreadable(records: UnreadableRecord[], now: Date): Promise<void>;
}

/** A dead letter as listed for operators and replay. */
export interface DeadLetter {
  kind: DeadLetterKind;
  id: string;
  deadLetteredAt: string;
  replayedAt: string;
  reason: string;
  /** Records: the raw text (cut at MAX_RAW_BYTES); alerts: the alert JSON. */
  rawText: string;
  rawBytes: number;
  rawTruncated: boolean;
  where: string;
  alertId: string;
  destination: string;
  etag: string;
}

type DeadLetterEntity = {
  partitionKey: DeadLetterKind;
  rowKey: string;
  deadLetteredAt: string;
  replayedAt: string;
  reason: string;
  rawText: string;
  rawBytes: number;
  rawTruncated: boolean;
  where?: string;
  eventHubPartition?: string;
  sequenceNumber?: string;
  offset?: string;
  enqueuedTime?: string;
  invocationId?: string;
  alertId?: string;
  ruleId?: string;
  auditId?: string;
  destination?: string;
  destinationKey?: string;
  attempts?: number;
  createdAt?: string;
};

/**
 * The dead-letter table: unreadable input records (partition `record`) and alerts that could
 * not be delivered before they grew too old (partition `alert`). Row keys are digests of a
 * stable identity, so writing the same dead letter twice (a redelivered batch) keeps one row.
 */
export class DeadLetterStore implements UnreadableRecordSink {
  private tableReady: Promise<void> | undefined;

  constructor(private readonly client: TableClient) {}

  get tableName(): string {
    return this.client.tableName;
  }

  /** Stores every record; throws StorageUnavailableError when any could not be written. */
  async recordUnreadable(records: UnreadableRecord[], now: Date): Promise<void> {
    if (records.length === 0) {
      return;
    }
    await this.ensureTable();

    await mapWithConcurrency(records, 8, async (record) => {
      const raw = capRawText(record.rawText);
      const entity: DeadLetterEntity = {
        partitionKey: 'record',
        rowKey: rowKeyOf(record.identity),
        deadLetteredAt: now.toISOString(),
        replayedAt: '',
        reason: storableText(record.reason, 1024),
        ...raw,
        where: storableText(record.where, 512),
        eventHubPartition: storableText(record.eventHubPartition, 64),
        sequenceNumber: storableText(record.sequenceNumber, 64),
        offset: storableText(record.offset, 64),
        enqueuedTime: storableText(record.enqueuedTime, 64),
        invocationId: storableText(record.invocationId, 64),
      };
      await this.upsert(entity, `dead-letter the record at ${entity.where ?? ''}`);
    });
  }

  /** Keeps an alert that one destination never acknowledged before it grew too old. */
  async recordExpiredAlert(
    alert: Alert | undefined,
    delivery: OutboxDelivery,
    reason: string,
    now: Date,
  ): Promise<void> {
    await this.ensureTable();

    const alertJson = alert === undefined ? '' : storableJson(alert);
    await this.upsert(
      {
        partitionKey: 'alert',
        rowKey: rowKeyOf(`${delivery.alertId}\n${delivery.destinationKey}`),
        deadLetteredAt: now.toISOString(),
        replayedAt: '',
        reason: storableText(reason, 1024),
        ...capRawText(alertJson),
        alertId: delivery.alertId,
        ruleId: alert?.ruleId ?? '',
        auditId: storableText(alert?.auditId ?? '', 1024),
        destination: delivery.destination,
        destinationKey: delivery.destinationKey,
        attempts: delivery.attempts,
        createdAt: delivery.createdAt,
      },
      `dead-letter alert ${delivery.alertId}`,
    );
  }

  /** Dead letters of one kind; with `includeReplayed` false, only those not replayed yet. */
  async list(kind: DeadLetterKind, limit: number, includeReplayed = false): Promise<DeadLetter[]> {
    await this.ensureTable();

    const filter = includeReplayed
      ? odata`PartitionKey eq ${kind}`
      : odata`PartitionKey eq ${kind} and replayedAt eq ${''}`;
    const found: DeadLetter[] = [];
    try {
      const pages = this.client
        .listEntities<DeadLetterEntity>({ queryOptions: { filter } })
        .byPage({ maxPageSize: Math.min(limit, 1000) });
      for await (const page of pages) {
        for (const entity of page) {
          found.push(toDeadLetter(entity));
          if (found.length >= limit) {
            return found;
          }
        }
      }
    } catch (error) {
      throw this.unavailable(`list ${kind} dead letters`, error);
    }

    return found;
  }

  /** Marks a dead letter replayed; false when another worker changed it first. */
  async markReplayed(deadLetter: DeadLetter, now: Date): Promise<boolean> {
    try {
      await this.client.updateEntity(
        { partitionKey: deadLetter.kind, rowKey: deadLetter.id, replayedAt: now.toISOString() },
        'Merge',
        { etag: deadLetter.etag },
      );

      return true;
    } catch (error) {
      if (isChangedByAnother(error) || isNotFound(error)) {
        return false;
      }
      throw this.unavailable(`mark ${deadLetter.id} replayed`, error);
    }
  }

  private async upsert(entity: DeadLetterEntity, operation: string): Promise<void> {
    try {
      await this.client.upsertEntity(entity, 'Replace');
    } catch (error) {
      throw this.unavailable(operation, error);
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

function rowKeyOf(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 40);
}

/** The first MAX_RAW_BYTES of the text, storable, with the original size. */
export function capRawText(text: string): {
  rawText: string;
  rawBytes: number;
  rawTruncated: boolean;
} {
  const rawBytes = Buffer.byteLength(text);
  const kept =
    rawBytes <= MAX_RAW_BYTES
      ? text
      : Buffer.from(text)
          .subarray(0, MAX_RAW_BYTES)
          .toString('utf8')
          .replace(/\ufffd$/, '');

  return {
    rawText: storableText(kept, MAX_RAW_BYTES),
    rawBytes,
    rawTruncated: rawBytes > MAX_RAW_BYTES,
  };
}

function toDeadLetter(entity: DeadLetterEntity & { etag?: string }): DeadLetter {
  return {
    kind: entity.partitionKey,
    id: entity.rowKey,
    deadLetteredAt: entity.deadLetteredAt,
    replayedAt: entity.replayedAt,
    reason: entity.reason,
    rawText: entity.rawText,
    rawBytes: entity.rawBytes,
    rawTruncated: entity.rawTruncated,
    where: entity.where ?? '',
    alertId: entity.alertId ?? '',
    destination: entity.destination ?? '',
    etag: entity.etag ?? '*',
  };
}
