import type { AllowlistEntry } from './allowlistEntry';
import type { Initiator } from './auditRecord';
import { tryParseInviterKey } from './inviterKey';

/** Allowlist entries indexed by their inviter key, for exact lookups. */
export class Allowlist {
  readonly size: number;
  private readonly byKey = new Map<string, AllowlistEntry>();

  constructor(entries: Iterable<AllowlistEntry>) {
    for (const entry of entries) {
      // Entries are stored under their normal form; re-normalise in case a caller did not.
      const key = tryParseInviterKey(entry.inviter)?.value;
      if (key !== undefined) {
        this.byKey.set(key, entry);
      }
    }
    this.size = this.byKey.size;
  }

  entries(): AllowlistEntry[] {
    return [...this.byKey.values()];
  }

  /** The entries naming this inviter: a user by object id or UPN, an app by appId or servicePrincipalId. */
  entriesFor(inviter: Initiator): AllowlistEntry[] {
    const found: AllowlistEntry[] = [];
    for (const key of inviterKeys(inviter)) {
      const entry = this.byKey.get(key);
      if (entry !== undefined && !found.includes(entry)) {
        found.push(entry);
      }
    }

    return found;
  }
}

/** The normal-form keys under which an inviter may be listed; none for an unknown one. */
export function inviterKeys(inviter: Initiator): string[] {
  let candidates: (string | undefined)[];
  switch (inviter.type) {
    case 'user':
      candidates = [inviter.id, inviter.userPrincipalName];
      break;
    case 'app':
      candidates = [inviter.appId, inviter.servicePrincipalId];
      break;
    case 'unknown':
      candidates = [];
      break;
  }

  const keys: string[] = [];
  for (const candidate of candidates) {
    const key = candidate === undefined ? undefined : tryParseInviterKey(candidate);
    // A user is matched by GUID or UPN, an app only by GUIDs: an app's "UPN" is not a thing.
    if (key !== undefined && (inviter.type === 'user' || key.kind === 'guid')) {
      keys.push(key.value);
    }
  }

  return keys;
}
