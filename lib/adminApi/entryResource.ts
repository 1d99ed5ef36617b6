import type { AllowlistEntry } from '../allowlistEntry';
import type { StoredAllowlistEntry } from '../tableAllowlistStore';

/** An entry as the API shows it (schema Entry in docs/openapi.json). */
export type EntryResource = StoredAllowlistEntry;

/** The entry without who-and-when: what audit records and notices keep as before/after. */
export function entryTerms(entry: AllowlistEntry): AllowlistEntry {
  const terms: AllowlistEntry = { inviter: entry.inviter };
  if (entry.expiresAt !== undefined) terms.expiresAt = entry.expiresAt;
  if (entry.allowedDomains !== undefined) terms.allowedDomains = entry.allowedDomains;
  if (entry.note !== undefined) terms.note = entry.note;

  return terms;
}

export function toEntryResource(entry: StoredAllowlistEntry): EntryResource {
  return { ...entryTerms(entry), ...authorship(entry), etag: entry.etag };
}

function authorship(entry: StoredAllowlistEntry): Partial<StoredAllowlistEntry> {
  const fields: Partial<StoredAllowlistEntry> = {};
  if (entry.createdBy !== undefined) fields.createdBy = entry.createdBy;
  if (entry.createdAt !== undefined) fields.createdAt = entry.createdAt;
  if (entry.updatedBy !== undefined) fields.updatedBy = entry.updatedBy;
  if (entry.updatedAt !== undefined) fields.updatedAt = entry.updatedAt;

  return fields;
}
