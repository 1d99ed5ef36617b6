import type { AllowlistEntry } from '../allowlistEntry';

export type AllowlistAction = 'create' | 'update' | 'delete';

/**
 * One change to the allowlist, as the audit table keeps it and the notice announces it.
 * `before` is null for a create, `after` null for a delete.
 */
export interface AllowlistChange {
  /** The audit record's row key: newest first in the table, and the notice's webhook-id. */
  id: string;
  inviter: string;
  action: AllowlistAction;
  before: AllowlistEntry | null;
  after: AllowlistEntry | null;
  /** The caller's label: a sign-in name, or `app <appId>` for an application. */
  changedBy: string;
  changedByObjectId: string | null;
  changedByAppId: string | null;
  changedAt: string;
  clientIp: string | null;
  /** The Functions invocation that made the change, to find its logs. */
  invocationId: string;
}
