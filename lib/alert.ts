import { createHash } from 'node:crypto';

import type { AuditRecord } from './auditRecord';
import { guestInvitationRule, type AttackMapping, type Severity } from './detectionRule';
import type { AlertReason } from './evaluateApproval';
import { isGuestPrincipal, type GuestInvitation } from './guestInvitation';
import { isGuid } from './inviterKey';

export const ALERT_SCHEMA_VERSION = 1;

export interface AlertInviter {
  type: 'user' | 'app' | 'unknown';
  /** The user's object id (users only). */
  id: string | null;
  userPrincipalName: string | null;
  appId: string | null;
  servicePrincipalId: string | null;
  displayName: string | null;
  ipAddress: string | null;
  /** True when the inviter is itself a guest (#EXT# in its UPN). */
  isGuest: boolean;
}

export interface AlertInvitee {
  email: string | null;
  userPrincipalName: string | null;
  id: string | null;
}

/** The one alert shape every destination receives (JSON as is, or rendered as a card). */
export interface Alert {
  schemaVersion: number;
  /** Stable per rule and audit record: redeliveries of the record give the same id. */
  alertId: string;
  ruleId: string;
  title: string;
  severity: Severity;
  reason: AlertReason;
  reasonText: string;
  auditId: string;
  operation: string | null;
  category: string | null;
  result: string | null;
  resultReason: string | null;
  time: string | null;
  tenantId: string | null;
  correlationId: string | null;
  inviter: AlertInviter;
  invitee: AlertInvitee;
  /** Entra admin center pages, where the ids are known. */
  links: { inviter: string | null; invitee: string | null };
  attack: AttackMapping[];
  detectedAt: string;
}

export const REASON_TEXT: Record<AlertReason, string> = {
  'not-approved': 'The inviter is not on the approved-inviter allowlist.',
  'approval-expired': "The inviter's allowlist entry had expired at the time of the invitation.",
  'domain-not-allowed': "The invitee's email domain is not one the inviter is approved to invite.",
  'allowlist-unavailable':
    'The allowlist could not be read, so no invitation could be approved (fail safe).',
};

const ENTRA = 'https://entra.microsoft.com/#view';

function orNull(value: string | undefined): string | null {
  return value ?? null;
}

/**
 * The audit record's own id, or for the rare record without one a digest of its content,
 * so that the same record always gets the same alert id.
 */
export function auditIdOf(record: AuditRecord): string {
  if (record.id !== undefined) {
    return record.id;
  }

  const digest = createHash('sha256').update(JSON.stringify(record)).digest('hex');

  return `sha256:${digest.slice(0, 32)}`;
}

export function alertIdFor(ruleId: string, auditId: string): string {
  return createHash('sha256').update(`${ruleId}\n${auditId}`).digest('hex').slice(0, 32);
}

export function buildAlert(invitation: GuestInvitation, reason: AlertReason, now: Date): Alert {
  const { record, inviter, invitee } = invitation;
  const auditId = auditIdOf(record);
  const alertInviter = toAlertInviter(invitation);
  const identified =
    alertInviter.id !== null ||
    alertInviter.userPrincipalName !== null ||
    alertInviter.appId !== null ||
    alertInviter.servicePrincipalId !== null;
  const severity =
    alertInviter.isGuest || !identified
      ? guestInvitationRule.elevatedSeverity
      : guestInvitationRule.severity;

  return {
    schemaVersion: ALERT_SCHEMA_VERSION,
    alertId: alertIdFor(guestInvitationRule.id, auditId),
    ruleId: guestInvitationRule.id,
    title: guestInvitationRule.title,
    severity,
    reason,
    reasonText: REASON_TEXT[reason],
    auditId,
    operation: orNull(record.activity ?? record.operationName)?.trim() ?? null,
    category: orNull(record.category),
    result: orNull(record.result),
    resultReason: orNull(record.resultReason),
    time: orNull(record.time),
    tenantId: orNull(record.tenantId),
    correlationId: orNull(record.correlationId),
    inviter: alertInviter,
    invitee: {
      email: orNull(invitee.email),
      userPrincipalName: orNull(invitee.userPrincipalName),
      id: orNull(invitee.id),
    },
    links: {
      inviter: inviterLink(inviter),
      invitee: userLink(invitee.id),
    },
    attack: guestInvitationRule.attack,
    detectedAt: now.toISOString(),
  };
}

function toAlertInviter(invitation: GuestInvitation): AlertInviter {
  const inviter = invitation.inviter;
  switch (inviter.type) {
    case 'user':
      return {
        type: 'user',
        id: orNull(inviter.id),
        userPrincipalName: orNull(inviter.userPrincipalName),
        appId: null,
        servicePrincipalId: null,
        displayName: orNull(inviter.displayName),
        ipAddress: orNull(inviter.ipAddress),
        isGuest: isGuestPrincipal(inviter.userPrincipalName),
      };
    case 'app':
      return {
        type: 'app',
        id: null,
        userPrincipalName: null,
        appId: orNull(inviter.appId),
        servicePrincipalId: orNull(inviter.servicePrincipalId),
        displayName: orNull(inviter.displayName),
        ipAddress: null,
        isGuest: false,
      };
    case 'unknown':
      return {
        type: 'unknown',
        id: null,
        userPrincipalName: null,
        appId: null,
        servicePrincipalId: null,
        displayName: orNull(inviter.displayName),
        ipAddress: orNull(inviter.ipAddress),
        isGuest: false,
      };
  }
}

/** Entra admin center deep links; only built from GUIDs so nothing else reaches the URL. */
function userLink(id: string | undefined): string | null {
  return id !== undefined && isGuid(id)
    ? `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/${id.toLowerCase()}`
    : null;
}

function inviterLink(inviter: GuestInvitation['inviter']): string | null {
  switch (inviter.type) {
    case 'user':
      return userLink(inviter.id);
    case 'app':
      if (inviter.servicePrincipalId !== undefined && isGuid(inviter.servicePrincipalId)) {
        const appPart =
          inviter.appId !== undefined && isGuid(inviter.appId)
            ? `/appId/${inviter.appId.toLowerCase()}`
            : '';

        return `${ENTRA}/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/${inviter.servicePrincipalId.toLowerCase()}${appPart}`;
      }

      return null;
    case 'unknown':
      return null;
  }
}
