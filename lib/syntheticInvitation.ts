import { createHash, randomUUID } from 'node:crypto';

/**
 * A synthetic Entra ID "Invite external user" audit record, in the Azure Monitor resource-log
 * shape that Entra diagnostic settings stream to Event Hubs. Operators send one through the
 * deployed pipeline to check it end to end; every identity in it is invented and the record
 * says so in three places (inviter UPN, properties.id, an additionalDetails marker).
 */
export interface SyntheticInvitationOptions {
  /** Tenant the record claims to come from; an all-zero GUID when not given. */
  tenantId?: string;
  /** UPN of the inviter; a `.invalid` address when not given. */
  inviterUpn?: string;
  /** Email address of the invited guest; a `.invalid` address when not given. */
  inviteeEmail?: string;
  /** When the invitation "happened". */
  now?: Date;
  /** Makes the record's ids unique; a fresh random UUID when not given. */
  runId?: string;
}

export interface SyntheticDetail {
  key: string;
  value: string;
}

export interface SyntheticInvitationRecord {
  time: string;
  resourceId: string;
  operationName: 'Invite external user';
  operationVersion: string;
  category: 'AuditLogs';
  tenantId: string;
  resultSignature: string;
  durationMs: number;
  callerIpAddress: string;
  correlationId: string;
  Level: number;
  properties: {
    id: string;
    category: 'UserManagement';
    correlationId: string;
    result: 'success';
    resultReason: null;
    activityDisplayName: 'Invite external user';
    activityDateTime: string;
    loggedByService: 'Invited Users';
    operationType: 'Add';
    userAgent: null;
    initiatedBy: {
      user: {
        id: string;
        displayName: null;
        userPrincipalName: string;
        ipAddress: string;
        roles: string[];
      };
    };
    targetResources: [
      {
        id: string;
        displayName: null;
        type: 'User';
        userPrincipalName: string;
        modifiedProperties: [];
        administrativeUnits: [];
      },
    ];
    additionalDetails: SyntheticDetail[];
  };
}

/** An Event Hubs message body as Entra sends it: `{"records": [...]}`, here with one record. */
export interface SyntheticInvitationBody {
  records: [SyntheticInvitationRecord];
}

export const SYNTHETIC_INVITER_UPN = 'synthetic-test-inviter@guest-invite-detector.invalid';
export const SYNTHETIC_INVITEE_EMAIL = 'synthetic-test-guest@example.invalid';
export const SYNTHETIC_TENANT_ID = '00000000-0000-0000-0000-000000000000';
/** The additionalDetails entry that marks a record as a test, for filters and triage. */
export const SYNTHETIC_MARKER: SyntheticDetail = {
  key: 'syntheticTestEvent',
  value: 'guest-invite-detector',
};

// Invented tenant domain for the guest's UPN; Entra uses the tenant's initial domain there.
const SYNTHETIC_TENANT_DOMAIN = 'synthetictesttenant.onmicrosoft.com';
// From TEST-NET-1 (RFC 5737), which is never routed.
const SYNTHETIC_IP_ADDRESS = '192.0.2.10';

export function buildSyntheticInvitation(
  options: SyntheticInvitationOptions = {},
): SyntheticInvitationBody {
  const tenantId = options.tenantId ?? SYNTHETIC_TENANT_ID;
  const inviterUpn = options.inviterUpn ?? SYNTHETIC_INVITER_UPN;
  const inviteeEmail = options.inviteeEmail ?? SYNTHETIC_INVITEE_EMAIL;
  const now = options.now ?? new Date();
  const runId = options.runId ?? randomUUID();

  const correlationId = uuidFrom('correlation', runId);
  // Real ids end in `_<5 letters>_<7 digits>`; SYNTHETIC takes the letters' place.
  const sequence = parseInt(correlationId.replaceAll('-', '').slice(0, 8), 16) % 10_000_000;
  const recordId = `Invited Users_${correlationId}_SYNTHETIC_${sequence}`;

  return {
    records: [
      {
        time: entraTimestamp(now, 'Z'),
        resourceId: `/tenants/${tenantId}/providers/Microsoft.aadiam`,
        operationName: 'Invite external user',
        operationVersion: '1.0',
        category: 'AuditLogs',
        tenantId,
        resultSignature: 'None',
        durationMs: 0,
        callerIpAddress: SYNTHETIC_IP_ADDRESS,
        correlationId,
        Level: 4,
        properties: {
          id: recordId,
          category: 'UserManagement',
          correlationId,
          result: 'success',
          resultReason: null,
          activityDisplayName: 'Invite external user',
          activityDateTime: entraTimestamp(now, '+00:00'),
          loggedByService: 'Invited Users',
          operationType: 'Add',
          userAgent: null,
          initiatedBy: {
            user: {
              // Stable per inviter, as a real object id would be.
              id: uuidFrom('inviter', inviterUpn.toLowerCase()),
              displayName: null,
              userPrincipalName: inviterUpn,
              ipAddress: SYNTHETIC_IP_ADDRESS,
              roles: [],
            },
          },
          targetResources: [
            {
              id: uuidFrom('invitee', runId),
              displayName: null,
              type: 'User',
              userPrincipalName: guestUserPrincipalName(inviteeEmail),
              modifiedProperties: [],
              administrativeUnits: [],
            },
          ],
          additionalDetails: [
            { key: 'InvitationId', value: uuidFrom('invitation', runId) },
            { key: 'invitedUserEmailAddress', value: inviteeEmail },
            SYNTHETIC_MARKER,
            { key: 'syntheticTestRunId', value: runId },
          ],
        },
      },
    ],
  };
}

/** How Entra names a B2B guest: `local_domain#EXT#@<tenant initial domain>`. */
function guestUserPrincipalName(email: string): string {
  return `${email.replace('@', '_')}#EXT#@${SYNTHETIC_TENANT_DOMAIN}`;
}

/** Entra writes seven fractional digits, `Z` at the top level and `+00:00` in properties. */
function entraTimestamp(moment: Date, zone: 'Z' | '+00:00'): string {
  const milliseconds = moment.toISOString().slice(0, -1);

  return `${milliseconds}0000${zone}`;
}

/** A UUID-shaped id derived from the run, so one runId always gives the same record. */
function uuidFrom(purpose: string, seed: string): string {
  const hex = createHash('sha256').update(`${purpose}:${seed}`).digest('hex');

  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `4${hex.slice(13, 16)}`,
    `8${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join('-');
}
