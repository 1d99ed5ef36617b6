import type { Allowlist } from './allowlist';
import type { AllowlistEntry } from './allowlistEntry';
import type { GuestInvitation } from './guestInvitation';

/** Why an invitation alerts. */
export type AlertReason =
  'not-approved' | 'approval-expired' | 'domain-not-allowed' | 'allowlist-unavailable';

export type ApprovalDecision =
  { approved: true; entry: AllowlistEntry } | { approved: false; reason: AlertReason };

/**
 * Decides whether the allowlist approves an invitation. `allowlist` is undefined when it
 * could not be read: then nothing is approved (fail safe, never silent).
 *
 * An entry past its expiresAt approves nothing: neither an invitation made after it expired,
 * nor one read after it expired (a record delayed or replayed past the expiry alerts, with
 * reason approval-expired, rather than pass on an approval that no longer holds). The later
 * of the record's time and `now` decides, so a record stamped ahead of this clock cannot
 * borrow the time before its own either.
 */
export function evaluateApproval(
  invitation: GuestInvitation,
  allowlist: Allowlist | undefined,
  now: Date,
): ApprovalDecision {
  if (allowlist === undefined) {
    return { approved: false, reason: 'allowlist-unavailable' };
  }

  const entries = allowlist.entriesFor(invitation.inviter);
  if (entries.length === 0) {
    return { approved: false, reason: 'not-approved' };
  }

  const at = expiryJudgedAt(invitation, now);
  const current = entries.filter((entry) => !hasExpired(entry, at));
  if (current.length === 0) {
    return { approved: false, reason: 'approval-expired' };
  }

  const domain = emailDomain(invitation.invitee.email);
  const approving = current.find((entry) => domainAllowed(entry, domain));
  if (approving === undefined) {
    return { approved: false, reason: 'domain-not-allowed' };
  }

  return { approved: true, entry: approving };
}

function expiryJudgedAt(invitation: GuestInvitation, now: Date): number {
  const recorded =
    invitation.record.time === undefined ? NaN : parseAuditTime(invitation.record.time);

  return Number.isNaN(recorded) ? now.getTime() : Math.max(recorded, now.getTime());
}

/**
 * Entra writes 5 to 9 fractional digits and `Z` or `+00:00`; Date.parse is not specified for
 * more than 3, so the fraction is cut to milliseconds first. Some exports use a space for `T`
 * and no zone: those are UTC.
 */
export function parseAuditTime(value: string): number {
  const match =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      value.trim(),
    );
  if (match === null) {
    return NaN;
  }

  const [, date, clock, fraction, zone] = match;
  const millis = (fraction ?? '').padEnd(3, '0').slice(0, 3);

  return Date.parse(`${date}T${clock}.${millis}${zone ?? 'Z'}`);
}

/** An entry past its expiresAt approves nothing; one without it never expires. */
export function hasExpired(entry: AllowlistEntry, at: number): boolean {
  return entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= at;
}

export function emailDomain(email: string | undefined): string | undefined {
  if (email === undefined) {
    return undefined;
  }

  const at = email.lastIndexOf('@');
  if (at < 0) {
    return undefined;
  }

  const domain = email
    .slice(at + 1)
    .trim()
    .toLowerCase();

  return domain.endsWith('.') ? domain.slice(0, -1) : domain;
}

/**
 * Without allowedDomains any domain passes. With them, the invitee's domain must equal a
 * listed one or be a subdomain on a dot boundary: `eu.partner.example` passes for
 * `partner.example`, `evilpartner.example` does not. No known domain passes nothing.
 */
export function domainAllowed(entry: AllowlistEntry, domain: string | undefined): boolean {
  if (entry.allowedDomains === undefined) {
    return true;
  }
  if (domain === undefined || domain === '') {
    return false;
  }

  return entry.allowedDomains.some(
    (allowed) => domain === allowed || domain.endsWith(`.${allowed}`),
  );
}
