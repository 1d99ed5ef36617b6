import { buildAlert, type Alert } from './alert';
import type { Allowlist } from './allowlist';
import { UnparsableElement, type LocatedElement } from './auditInput';
import type { AllowlistProvider } from './cachedAllowlist';
import { evaluateApproval } from './evaluateApproval';
import {
  findGuestInvitation,
  isGuestInvitationRecord,
  type GuestInvitation,
} from './guestInvitation';
import { normalizeAuditRecord, screenAuditRecord } from './normalizeAuditRecord';

export interface DetectionProblem {
  where: string;
  reason: string;
  /** The element that could not be read, and the document it was in (where numbered). */
  element: unknown;
  documentIndex: number | undefined;
}

/** Counts for one batch or one scan, as logged per batch. */
export interface DetectionSummary {
  records: number;
  invitations: number;
  approved: number;
  alerts: number;
  unreadable: number;
  /** Records of other log categories (sign-ins and the like), skipped on purpose. */
  ignored: number;
}

export interface DetectionResult {
  alerts: Alert[];
  problems: DetectionProblem[];
  summary: DetectionSummary;
  /**
   * Invitations not approved whose alert was already raised (the same record read again, in
   * this call or an earlier one given the same AlertedIds), so not raised twice.
   */
  repeated: number;
  /** Set when the allowlist could not be read; every invitation then alerts. */
  allowlistError?: string;
}

export function emptySummary(): DetectionSummary {
  return { records: 0, invitations: 0, approved: 0, alerts: 0, unreadable: 0, ignored: 0 };
}

/** The alert ids already raised, that the same record must not raise again; a Set will do. */
export interface AlertedIds {
  has(alertId: string): boolean;
  add(alertId: string): void;
}

/**
 * Runs the rule over a batch of input elements. Reading is synchronous and cheap for the
 * records that are not invitations; the allowlist is asked for once, and only when the batch
 * holds an invitation. A broken element is reported and skipped, never thrown.
 */
export async function detectInvitations(
  elements: Iterable<LocatedElement>,
  allowlist: AllowlistProvider,
  now: Date,
  alerted: AlertedIds = new Set<string>(),
): Promise<DetectionResult> {
  const summary = emptySummary();
  const problems: DetectionProblem[] = [];
  const invitations: GuestInvitation[] = [];

  for (const located of elements) {
    const element = located.element;
    summary.records += 1;
    if (element instanceof UnparsableElement) {
      summary.unreadable += 1;
      problems.push(problemAt(located, element.reason));
      continue;
    }

    // Only a record whose head says invitation is read in full: about 1 in 100.
    const screening = screenAuditRecord(element, isGuestInvitationRecord);
    if (screening === 'match') {
      const read = normalizeAuditRecord(element);
      const invitation = read.kind === 'audit' ? findGuestInvitation(read.record) : undefined;
      if (invitation !== undefined) {
        invitations.push(invitation);
      }
    } else if (screening === 'audit') {
      continue;
    } else if (screening.kind === 'unreadable') {
      summary.unreadable += 1;
      problems.push(problemAt(located, screening.reason));
    } else {
      summary.ignored += 1;
    }
  }

  summary.invitations = invitations.length;
  const result: DetectionResult = { alerts: [], problems, summary, repeated: 0 };
  if (invitations.length === 0) {
    return result;
  }

  let current: Allowlist | undefined;
  try {
    current = await allowlist.get();
  } catch (error) {
    result.allowlistError = error instanceof Error ? error.message : String(error);
  }

  // The same record can come twice (an export and a stream overlapping, or a message sent
  // twice); it alerts once.
  for (const invitation of invitations) {
    const decision = evaluateApproval(invitation, current, now);
    if (decision.approved) {
      summary.approved += 1;
      continue;
    }
    const alert = buildAlert(invitation, decision.reason, now);
    if (alerted.has(alert.alertId)) {
      result.repeated += 1;
    } else {
      alerted.add(alert.alertId);
      result.alerts.push(alert);
    }
  }
  summary.alerts = result.alerts.length;

  return result;
}

function problemAt(located: LocatedElement, reason: string): DetectionProblem {
  return {
    where: located.where,
    reason,
    element: located.element,
    documentIndex: located.documentIndex,
  };
}

export function addSummaries(total: DetectionSummary, part: DetectionSummary): void {
  total.records += part.records;
  total.invitations += part.invitations;
  total.approved += part.approved;
  total.alerts += part.alerts;
  total.unreadable += part.unreadable;
  total.ignored += part.ignored;
}
