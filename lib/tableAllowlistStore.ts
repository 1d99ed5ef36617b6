import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';

import { allowlistEntrySchema, describeIssues, type AllowlistEntry } from './allowlistEntry';
import { decodeTableKey, encodeTableKey } from './tableKey';

/** All entries share one partition: the allowlist is small and read whole. */
export const ALLOWLIST_PARTITION = 'inviter';

/** An entry as stored, with who made and last changed it. */
export interface StoredAllowlistEntry extends AllowlistEntry {
  etag: string;
  createdBy?: string;
  createdAt?: string;
  updatedBy?: string;
  updatedAt?: string;
}

interface AllowlistEntity {
  partitionKey: string;
  rowKey: string;
  inviter: string;
  expiresAt?: string;
  /** Table Storage has no arrays: the domains are a JSON array in a string. */
  allowedDomains?: string;
  note?: string;
  createdBy?: string;
  createdAt?: string;
  updatedBy?: string;
  updatedAt?: string;
}

export interface AllowlistListing {
  entries: StoredAllowlistEntry[];
  /** Entities that are not valid entries; they approve nothing and are reported, not thrown. */
  problems: string[];
}

/** One page of the allowlist, and where the next one starts (undefined on the last page). */
export interface AllowlistPage extends AllowlistListing {
  continuationToken: string | undefined;
}

/** What the table holds for one inviter key, valid or not, with its storage ETag. */
export type EntryState =
  | { kind: 'missing' }
  | { kind: 'valid'; entry: StoredAllowlistEntry }
  | { kind: 'invalid'; etag: string; problem: string };

/** Who created and last changed an entry, and when. */
export type EntryAuthorship = Pick<
  StoredAllowlistEntry,
  'createdBy' | 'createdAt' | 'updatedBy' | 'updatedAt'
>;

/**
 * The outcome of a conditional write. Storage decides the race: of two writers holding the
 * same ETag exactly one gets `written`, the other `precondition-failed`.
 */
export type ConditionalWrite =
  | { outcome: 'written'; etag: string }
  | { outcome: 'exists' | 'not-found' | 'precondition-failed' };

export type ConditionalDelete =
  { outcome: 'deleted' } | { outcome: 'not-found' | 'precondition-failed' };

/** The allowlist kept in Azure Table Storage, one entity per inviter key. */
export class TableAllowlistStore {
  constructor(private readonly client: TableClient) {}

  async ensureTable(): Promise<void> {
    await this.client.createTable();
  }

  async listEntries(): Promise<AllowlistListing> {
    const entries: StoredAllowlistEntry[] = [];
    const problems: string[] = [];
    const pages = this.client.listEntities<AllowlistEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${ALLOWLIST_PARTITION}` },
    });
    for await (const entity of pages) {
      const read = readEntity(entity);
      if (typeof read === 'string') {
        problems.push(read);
      } else {
        entries.push(read);
      }
    }

    return { entries, problems };
  }

  async getEntry(inviter: string): Promise<StoredAllowlistEntry | undefined> {
    try {
      const entity = await this.client.getEntity<AllowlistEntity>(
        ALLOWLIST_PARTITION,
        encodeTableKey(inviter),
      );
      const read = readEntity(entity);

      return typeof read === 'string' ? undefined : read;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw error;
    }
  }

  /** One page of entries in key order; `continuationToken` comes from the previous page. */
  async listPage(maxPageSize: number, continuationToken?: string): Promise<AllowlistPage> {
    const pages = this.client
      .listEntities<AllowlistEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${ALLOWLIST_PARTITION}` },
      })
      .byPage({ maxPageSize, ...(continuationToken === undefined ? {} : { continuationToken }) });
    const first = await pages.next();
    const page = first.done === true ? undefined : first.value;
    const entries: StoredAllowlistEntry[] = [];
    const problems: string[] = [];
    for (const entity of page ?? []) {
      const read = readEntity(entity);
      if (typeof read === 'string') {
        problems.push(read);
      } else {
        entries.push(read);
      }
    }

    return { entries, problems, continuationToken: page?.continuationToken };
  }

  /** The entity under this key as it is, so a caller can act on an invalid one too. */
  async getEntryState(inviter: string): Promise<EntryState> {
    let entity: TableEntityResult<AllowlistEntity>;
    try {
      entity = await this.client.getEntity<AllowlistEntity>(
        ALLOWLIST_PARTITION,
        encodeTableKey(inviter),
      );
    } catch (error) {
      if (isNotFound(error)) {
        return { kind: 'missing' };
      }
      throw error;
    }

    const read = readEntity(entity);

    return typeof read === 'string'
      ? { kind: 'invalid', etag: entity.etag, problem: read }
      : { kind: 'valid', entry: read };
  }

  /** Creates or replaces an entry; `entry.inviter` must already be in normal form. */
  async upsertEntry(entry: AllowlistEntry, audit: EntryAuthorship = {}): Promise<void> {
    await this.client.upsertEntity(toEntity(entry, audit), 'Replace');
  }

  /** Creates an entry only if none exists under its key (`exists` otherwise). */
  async createEntry(entry: AllowlistEntry, audit: EntryAuthorship): Promise<ConditionalWrite> {
    try {
      const response = await this.client.createEntity(toEntity(entry, audit));

      return { outcome: 'written', etag: etagOf(response) };
    } catch (error) {
      if (statusOf(error) === 409) {
        return { outcome: 'exists' };
      }
      throw error;
    }
  }

  /**
   * Replaces the entity under the entry's key only while its ETag still matches `ifMatch`
   * (`*` matches any entity that exists).
   */
  async replaceEntry(
    entry: AllowlistEntry,
    audit: EntryAuthorship,
    ifMatch: string,
  ): Promise<ConditionalWrite> {
    try {
      const response = await this.client.updateEntity(toEntity(entry, audit), 'Replace', {
        etag: ifMatch,
      });

      return { outcome: 'written', etag: etagOf(response) };
    } catch (error) {
      return conditionalFailure(error);
    }
  }

  /** Deletes the entity under this key only while its ETag still matches `ifMatch`. */
  async deleteEntryIfMatch(inviter: string, ifMatch: string): Promise<ConditionalDelete> {
    try {
      await this.client.deleteEntity(ALLOWLIST_PARTITION, encodeTableKey(inviter), {
        etag: ifMatch,
      });

      return { outcome: 'deleted' };
    } catch (error) {
      return conditionalFailure(error);
    }
  }

  async deleteEntry(inviter: string): Promise<boolean> {
    try {
      await this.client.deleteEntity(ALLOWLIST_PARTITION, encodeTableKey(inviter));

      return true;
    } catch (error) {
      if (isNotFound(error)) {
        return false;
      }
      throw error;
    }
  }
}

export function toEntity(entry: AllowlistEntry, audit: EntryAuthorship): AllowlistEntity {
  const entity: AllowlistEntity = {
    partitionKey: ALLOWLIST_PARTITION,
    rowKey: encodeTableKey(entry.inviter),
    inviter: entry.inviter,
  };
  if (entry.expiresAt !== undefined) entity.expiresAt = entry.expiresAt;
  if (entry.allowedDomains !== undefined)
    entity.allowedDomains = JSON.stringify(entry.allowedDomains);
  if (entry.note !== undefined) entity.note = entry.note;
  if (audit.createdBy !== undefined) entity.createdBy = audit.createdBy;
  if (audit.createdAt !== undefined) entity.createdAt = audit.createdAt;
  if (audit.updatedBy !== undefined) entity.updatedBy = audit.updatedBy;
  if (audit.updatedAt !== undefined) entity.updatedAt = audit.updatedAt;

  return entity;
}

/** A valid entry, or a sentence saying what is wrong with the entity. */
export function readEntity(
  entity: TableEntityResult<AllowlistEntity>,
): StoredAllowlistEntry | string {
  const where = `allowlist entity "${decodeTableKey(entity.rowKey ?? '')}"`;
  let allowedDomains: unknown;
  if (entity.allowedDomains !== undefined && entity.allowedDomains !== null) {
    try {
      allowedDomains = JSON.parse(entity.allowedDomains) as unknown;
    } catch {
      return `${where}: allowedDomains is not a JSON array`;
    }
  }

  const parsed = allowlistEntrySchema.safeParse(
    dropUndefined({
      inviter: entity.inviter,
      expiresAt: entity.expiresAt ?? undefined,
      allowedDomains,
      note: entity.note ?? undefined,
    }),
  );
  if (!parsed.success) {
    return `${where}: ${describeIssues(parsed.error).join('; ')}`;
  }
  if (encodeTableKey(parsed.data.inviter) !== entity.rowKey) {
    return `${where}: its RowKey does not match its inviter`;
  }

  return dropUndefined({
    ...parsed.data,
    etag: entity.etag,
    createdBy: entity.createdBy ?? undefined,
    createdAt: entity.createdAt ?? undefined,
    updatedBy: entity.updatedBy ?? undefined,
    updatedAt: entity.updatedAt ?? undefined,
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

function statusOf(error: unknown): unknown {
  return (error as { statusCode?: unknown } | null)?.statusCode;
}

/** 404 and 412 are answers to a conditional request; anything else is thrown on. */
function conditionalFailure(error: unknown): { outcome: 'not-found' | 'precondition-failed' } {
  const status = statusOf(error);
  if (status === 404) {
    return { outcome: 'not-found' };
  }
  if (status === 412) {
    return { outcome: 'precondition-failed' };
  }
  throw error;
}

function etagOf(response: { etag?: string }): string {
  // Table Storage always answers a write with an ETag; an empty one would match nothing.
  return response.etag ?? '';
}
