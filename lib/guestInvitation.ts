import type { AuditRecord, Initiator } from './auditRecord';
import { guestInvitationRule } from './detectionRule';

/** The person invited, as far as the record tells. */
export interface Invitee {
  email: string | undefined;
  userPrincipalName: string | undefined;
  id: string | undefined;
}

/** An audit record that is a guest invitation, with its two parties picked out. */
export interface GuestInvitation {
  record: AuditRecord;
  inviter: Initiator;
  invitee: Invitee;
}

const INVITATION_ACTIVITIES = new Set(
  guestInvitationRule.logSource.activities.map((name) => name.toLowerCase()),
);
const INVITATION_CATEGORY = guestInvitationRule.logSource.category.toLowerCase();
const GUEST_MARKER = '#ext#';

/** Names are compared without regard to case or surrounding spaces (OperationName may end in one). */
function sameName(value: string | undefined): string | undefined {
  return value?.trim().toLowerCase();
}

/**
 * True for the three guest-invitation activities in UserManagement. Either the activity name
 * or the operation name may carry it: the Sigma rule reads OperationName, Graph only has
 * activityDisplayName, and matching either is never weaker than the Sigma rule.
 */
export function isGuestInvitationRecord(
  record: Pick<AuditRecord, 'category' | 'activity' | 'operationName'>,
): boolean {
  if (sameName(record.category) !== INVITATION_CATEGORY) {
    return false;
  }

  const activity = sameName(record.activity);
  const operation = sameName(record.operationName);

  return (
    (activity !== undefined && INVITATION_ACTIVITIES.has(activity)) ||
    (operation !== undefined && INVITATION_ACTIVITIES.has(operation))
  );
}

export function findGuestInvitation(record: AuditRecord): GuestInvitation | undefined {
  if (!isGuestInvitationRecord(record)) {
    return undefined;
  }

  return { record, inviter: record.initiatedBy, invitee: readInvitee(record) };
}

function readInvitee(record: AuditRecord): Invitee {
  const target = record.targetResources.find((resource) => sameName(resource.type) === 'user');
  const emailDetail = record.additionalDetails.find(
    (detail) =>
      detail.key.trim().toLowerCase() === 'invitedemailaddress' ||
      detail.key.trim().toLowerCase() === 'inviteduseremailaddress',
  );
  const userPrincipalName = target?.userPrincipalName;

  return {
    email: emailDetail?.value?.trim() ?? emailFromGuestUpn(userPrincipalName),
    userPrincipalName,
    id: target?.id,
  };
}

/**
 * A guest UPN is `local_domain#EXT#@tenant.onmicrosoft.com`. Turning it back is lossy when the
 * local part had an underscore, so it is only the fallback when the record gives no email.
 * A UPN without #EXT# (an internal user invited to B2B collaboration) is its own address.
 */
export function emailFromGuestUpn(userPrincipalName: string | undefined): string | undefined {
  if (userPrincipalName === undefined) {
    return undefined;
  }

  const marker = userPrincipalName.toLowerCase().indexOf(GUEST_MARKER);
  if (marker < 0) {
    return userPrincipalName.includes('@') ? userPrincipalName : undefined;
  }

  const mangled = userPrincipalName.slice(0, marker);
  const separator = mangled.lastIndexOf('_');
  if (separator <= 0 || separator === mangled.length - 1) {
    return undefined;
  }

  return `${mangled.slice(0, separator)}@${mangled.slice(separator + 1)}`;
}

/** An inviter whose UPN carries #EXT# is itself a guest of this tenant. */
export function isGuestPrincipal(userPrincipalName: string | undefined): boolean {
  return userPrincipalName?.toLowerCase().includes(GUEST_MARKER) ?? false;
}
