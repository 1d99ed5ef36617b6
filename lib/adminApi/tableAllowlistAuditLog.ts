import { randomBytes } from 'node:crypto';

import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { z } from 'zod';

import { describeIssues, storedInstantSchema } from '../allowlistEntry';
import { isNotFound } from '../tableErrorStatus';
import { decodeTableKey, encodeTableKey } from '../tableKey';
import type { AllowlistChange } from './allowlistChange';

/** The largest JavaScript date in milliseconds; row keys count down from it. */
const MAX_TIME_MS = 8_640_000_000_000_000;
/** Failure lines are for the operator; a short excerpt says enough. */
const MAX_NOTICE_ERROR_LENGTH = 1000;

interface AuditEntity {
  partitionKey: string;
  rowKey: string;
  inviter: string;
  action: string;
  /** Table Storage has no objects: the entries are JSON in strings, absent for null. */
  before?: string;
  after?: string;
  changedBy: string;
  changedByObjectId?: string;
  changedByAppId?: string;
  changedAt: string;
  clientIp?: string;
  invocationId: string;
  /** destinationKey of each destination still owed the change notice, comma-separated. */
  noticePending?: string;
  /** Announcements made so far: the one made with the change, then one per retry pass. */
  noticeAttempts?: number;
  /** The last failure lines, by destination label (never a URL). */
  noticeLastError?: string;
}

/** Where a change notice stands. */
export interface NoticeState {
  pending: string[];
  attempts: number;
  lastError: string;
}

/** A change whose notice some destinations still owe, with the ETag it was read at. */
export interface OwedNotice {
  change: AllowlistChange;
  state: NoticeState;
  etag: string;
}

export interface AuditPage {
  changes: AllowlistChange[];
  /** Entities that could not be read back; reported, never thrown. */
  problems: string[];
  continuationToken: string | undefined;
}

/**
 * An entry as an audit record keeps it: read for what it says, not judged by today's rules, so
 * a record written under older ones (a domain the API now refuses, say) still shows in the
 * history. Only expiresAt is normalised, to the form the API documents.
 */
const recordedEntrySchema = z.strictObject({
  inviter: z.string(),
  expiresAt: storedInstantSchema.optional(),
  allowedDomains: z.array(z.string()).optional(),
  note: z.string().optional(),
});

const storedEntrySchema = z
  .string()
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'is not JSON' });

      return z.NEVER;
    }
  })
  .pipe(recordedEntrySchema);

const auditEntitySchema = z.object({
  inviter: z.string(),
  action: z.enum(['create', 'update', 'delete']),
  before: storedEntrySchema.nullish(),
  after: storedEntrySchema.nullish(),
  changedBy: z.string(),
  changedByObjectId: z.string().nullish(),
  changedByAppId: z.string().nullish(),
  changedAt: z.string(),
  clientIp: z.string().nullish(),
  invocationId: z.string().nullish(),
});

/**
 * A row key that sorts newest first: the time counted down from the largest date, then random
 * hex so that two changes in the same millisecond never collide (their order is then arbitrary).
 */
export function newAuditRecordId(changedAt: Date): string {
  const countdown = String(MAX_TIME_MS - changedAt.getTime()).padStart(16, '0');

  return `${countdown}-${randomBytes(6).toString('hex')}`;
}

/**
 * The allowlist's change history in its own table: one partition per inviter (encoded key),
 * newest first, so an inviter's history is one cheap partition query.
 */
export class TableAllowlistAuditLog {
  constructor(private readonly client: TableClient) {}

  async ensureTable(): Promise<void> {
    await this.client.createTable();
  }

  /**
   * `abortSignal` bounds the write, the Tables client's own retries included; `noticePending`
   * lists the destinations the notice is owed to. Answers the new entity's ETag.
   */
  async append(
    change: AllowlistChange,
    options: { abortSignal?: AbortSignal; noticePending?: string[] } = {},
  ): Promise<string | undefined> {
    const { noticePending = [], ...requestOptions } = options;
    const entity: AuditEntity = {
      partitionKey: encodeTableKey(change.inviter),
      rowKey: change.id,
      inviter: change.inviter,
      action: change.action,
      changedBy: change.changedBy,
      changedAt: change.changedAt,
      invocationId: change.invocationId,
      noticePending: noticePending.join(','),
      noticeAttempts: 0,
      noticeLastError: '',
    };
    if (change.before !== null) entity.before = JSON.stringify(change.before);
    if (change.after !== null) entity.after = JSON.stringify(change.after);
    if (change.changedByObjectId !== null) entity.changedByObjectId = change.changedByObjectId;
    if (change.changedByAppId !== null) entity.changedByAppId = change.changedByAppId;
    if (change.clientIp !== null) entity.clientIp = change.clientIp;

    // Create, never upsert: an audit record is written once and never replaced.
    const created = await this.client.createEntity(entity, requestOptions);

    return created.etag;
  }

  /** Records where a change's notice stands, if the entity is still at `etag`; throws 412. */
  async recordNoticeState(
    change: Pick<AllowlistChange, 'inviter' | 'id'>,
    etag: string,
    state: NoticeState,
  ): Promise<void> {
    await this.client.updateEntity(
      {
        partitionKey: encodeTableKey(change.inviter),
        rowKey: change.id,
        noticePending: state.pending.join(','),
        noticeAttempts: state.attempts,
        noticeLastError: state.lastError.slice(0, MAX_NOTICE_ERROR_LENGTH),
      },
      'Merge',
      { etag },
    );
  }

  /**
   * Every change whose notice is still owed somewhere, across inviters. The audit table is
   * small, so one filtered scan is enough; a table not created yet owes nothing.
   */
  async listOwedNotices(): Promise<{ owed: OwedNotice[]; problems: string[] }> {
    const owed: OwedNotice[] = [];
    const problems: string[] = [];
    try {
      const entities = this.client.listEntities<AuditEntity>({
        queryOptions: { filter: odata`noticePending ne ${''}` },
      });
      for await (const entity of entities) {
        const pending = (entity.noticePending ?? '').split(',').filter((key) => key !== '');
        if (pending.length === 0) {
          continue;
        }

        const read = readAuditEntity(entity);
        if (typeof read === 'string') {
          problems.push(read);
        } else {
          owed.push({
            change: read,
            state: {
              pending,
              attempts: entity.noticeAttempts ?? 0,
              lastError: entity.noticeLastError ?? '',
            },
            etag: entity.etag,
          });
        }
      }
    } catch (error) {
      // A query answers 404 only for a missing table; its error code is not always parsed
      // from the answer's body (Azurite answers a query in JSON), so the status decides.
      if (!isNotFound(error)) {
        throw error;
      }
    }

    return { owed, problems };
  }

  /** One page of an inviter's history, newest first. */
  async listPage(
    inviter: string,
    maxPageSize: number,
    continuationToken?: string,
  ): Promise<AuditPage> {
    const pages = this.client
      .listEntities<AuditEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${encodeTableKey(inviter)}` },
      })
      .byPage({ maxPageSize, ...(continuationToken === undefined ? {} : { continuationToken }) });
    const first = await pages.next();
    const page = first.done === true ? undefined : first.value;
    const changes: AllowlistChange[] = [];
    const problems: string[] = [];
    for (const entity of page ?? []) {
      const read = readAuditEntity(entity);
      if (typeof read === 'string') {
        problems.push(read);
      } else {
        changes.push(read);
      }
    }

    return { changes, problems, continuationToken: page?.continuationToken };
  }
}

function readAuditEntity(entity: TableEntityResult<AuditEntity>): AllowlistChange | string {
  const parsed = auditEntitySchema.safeParse(entity);
  if (!parsed.success) {
    const where = `audit record "${decodeTableKey(entity.partitionKey ?? '')}/${entity.rowKey ?? ''}"`;

    return `${where}: ${describeIssues(parsed.error).join('; ')}`;
  }

  const read = parsed.data;

  return {
    id: entity.rowKey ?? '',
    inviter: read.inviter,
    action: read.action,
    before: read.before ?? null,
    after: read.after ?? null,
    changedBy: read.changedBy,
    changedByObjectId: read.changedByObjectId ?? null,
    changedByAppId: read.changedByAppId ?? null,
    changedAt: read.changedAt,
    clientIp: read.clientIp ?? null,
    invocationId: read.invocationId ?? '',
  };
}
