import { createHash } from 'node:crypto';

/**
 * Realistic Entra ID audit records in the resource-log shape Entra diagnostic settings send
 * to Event Hubs, built from a seed and an index so a stream can be regenerated exactly.
 * Every identity is invented (`.example` domains, made-up names and GUIDs).
 */

export const STREAM_TENANT_ID = '3f2a9c4e-7b1d-4e8a-9c55-1d2e3f4a5b6c';

/** A GUID derived from the text, so the same record always gets the same ids. */
export function guidOf(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');

  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface Inviter {
  upn: string;
  id: string;
}

const FIRST_NAMES = ['alice', 'bruno', 'chiara', 'dmitri', 'emeka', 'farah', 'goran', 'hana'];
const LAST_NAMES = ['morgan', 'okafor', 'lindqvist', 'tanaka', 'ferreira', 'novak', 'haddad'];
const GUEST_DOMAINS = [
  'partner.example',
  'supplier.example',
  'freemail.example',
  'eu.partner.example',
];

export function inviterNumber(index: number, domain = 'fabrikam.example'): Inviter {
  const first = FIRST_NAMES[index % FIRST_NAMES.length]!;
  const last = LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length]!;
  const upn = `${first}.${last}${index}@${domain}`;

  return { upn, id: guidOf(`inviter:${upn}`) };
}

/** `records` wrapper of one Event Hubs message. */
export function eventHubMessage(records: unknown[]): { records: unknown[] } {
  return { records };
}

function envelope(time: Date, operationName: string, correlationId: string) {
  return {
    time: time.toISOString().replace('Z', '0000Z'),
    resourceId: `/tenants/${STREAM_TENANT_ID}/providers/Microsoft.aadiam`,
    operationName,
    operationVersion: '1.0',
    category: 'AuditLogs',
    tenantId: STREAM_TENANT_ID,
    resultSignature: 'None',
    durationMs: 0,
    callerIpAddress: '203.0.113.24',
    correlationId,
    Level: 4,
  };
}

/** An "Invite external user" record; `key` makes its audit id unique within a stream. */
export function invitationRecord(key: string, inviter: Inviter, time: Date): unknown {
  const correlationId = guidOf(`correlation:${key}`);
  const guestLocal = `${FIRST_NAMES[key.length % FIRST_NAMES.length]}.guest${guidOf(key).slice(0, 6)}`;
  const guestDomain = GUEST_DOMAINS[key.charCodeAt(key.length - 1) % GUEST_DOMAINS.length]!;
  const guestId = guidOf(`guest:${key}`);

  return {
    ...envelope(time, 'Invite external user', correlationId),
    properties: {
      id: `Invited Users_${correlationId}_${key.replace(/[^A-Za-z0-9]/g, '').slice(-12)}`,
      category: 'UserManagement',
      correlationId,
      result: 'success',
      resultReason: null,
      activityDisplayName: 'Invite external user',
      activityDateTime: time.toISOString().replace('Z', '0000+00:00'),
      loggedByService: 'Invited Users',
      operationType: 'Add',
      userAgent: null,
      initiatedBy: {
        user: {
          id: inviter.id,
          displayName: null,
          userPrincipalName: inviter.upn,
          ipAddress: '203.0.113.24',
          roles: [],
        },
      },
      targetResources: [
        {
          id: guestId,
          displayName: null,
          type: 'User',
          userPrincipalName: `${guestLocal}_${guestDomain}#EXT#@fabrikam.onmicrosoft.com`,
          modifiedProperties: [],
          administrativeUnits: [],
        },
      ],
      additionalDetails: [
        { key: 'oid', value: inviter.id },
        { key: 'tid', value: STREAM_TENANT_ID },
        { key: 'ipaddr', value: '203.0.113.24' },
        { key: 'InvitationId', value: guidOf(`invitation:${key}`) },
        { key: 'invitedUserEmailAddress', value: `${guestLocal}@${guestDomain}` },
      ],
    },
  };
}

/** An "Update user" audit record: same category, not an invitation. */
export function userUpdateRecord(key: string, time: Date): unknown {
  const correlationId = guidOf(`correlation:${key}`);
  const user = inviterNumber(key.length + key.charCodeAt(0));

  return {
    ...envelope(time, 'Update user', correlationId),
    properties: {
      id: `Core Directory_${correlationId}_${key.replace(/[^A-Za-z0-9]/g, '').slice(-12)}`,
      category: 'UserManagement',
      correlationId,
      result: 'success',
      resultReason: null,
      activityDisplayName: 'Update user',
      activityDateTime: time.toISOString().replace('Z', '0000+00:00'),
      loggedByService: 'Core Directory',
      operationType: 'Update',
      userAgent: null,
      initiatedBy: { app: { appId: null, displayName: 'Microsoft Substrate Management' } },
      targetResources: [
        {
          id: user.id,
          displayName: null,
          type: 'User',
          userPrincipalName: user.upn,
          modifiedProperties: [
            { displayName: 'Department', oldValue: '["Sales"]', newValue: '["Marketing"]' },
          ],
          administrativeUnits: [],
        },
      ],
      additionalDetails: [{ key: 'UserType', value: 'Member' }],
    },
  };
}

/** A sign-in record: another log category on the same hub, skipped on purpose. */
export function signInRecord(key: string, time: Date): unknown {
  const user = inviterNumber(key.length);
  const id = guidOf(`signin:${key}`);

  return {
    ...envelope(time, 'Sign-in activity', id),
    category: 'SignInLogs',
    identity: 'Invented User',
    location: 'GB',
    properties: {
      id,
      createdDateTime: time.toISOString(),
      userDisplayName: 'Invented User',
      userPrincipalName: user.upn,
      userId: user.id,
      appId: '00000003-0000-0ff1-ce00-000000000000',
      appDisplayName: 'Office 365 SharePoint Online',
      ipAddress: '203.0.113.24',
      status: { errorCode: 0 },
      clientAppUsed: 'Browser',
      isInteractive: true,
    },
  };
}

/** Broken elements of the kinds real streams and attackers produce; each is unreadable. */
export function malformedRecord(variant: number): unknown {
  switch (variant % 8) {
    case 0:
      return 42;
    case 1:
      return 'a bare string where a record belongs';
    case 2:
      return [1, 2, 3];
    case 3:
      return { unexpected: true, time: '2026-11-18T10:00:00Z' };
    case 4:
      return { category: 'AuditLogs', properties: 'not an object' };
    case 5:
      return JSON.parse('{"__proto__": {"polluted": true}, "shape": "unknown"}') as unknown;
    case 6:
      return { properties: null, operationName: 'Invite external user' };
    default:
      return { note: `x${'\u0000\u001b[31m'.repeat(10)}`, big: 'y'.repeat(20_000) };
  }
}
