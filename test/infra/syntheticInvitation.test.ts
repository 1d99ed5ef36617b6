import { findGuestInvitation } from '../../lib/guestInvitation';
import { normalizeAuditRecord } from '../../lib/normalizeAuditRecord';
import {
  buildSyntheticInvitation,
  SYNTHETIC_INVITEE_EMAIL,
  SYNTHETIC_INVITER_UPN,
  SYNTHETIC_MARKER,
  SYNTHETIC_TENANT_ID,
} from '../../lib/syntheticInvitation';

const NOW = new Date('2025-03-14T09:26:53.589Z');
const RUN_ID = '3f1c2b7a-5d4e-4c2b-9a8f-1e2d3c4b5a69';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('buildSyntheticInvitation', () => {
  const body = buildSyntheticInvitation({ now: NOW, runId: RUN_ID });
  const [record] = body.records;

  it('wraps exactly one record in the Event Hubs {"records": [...]} envelope', () => {
    expect(Object.keys(body)).toEqual(['records']);
    expect(body.records).toHaveLength(1);
  });

  it('has the resource-log shape Entra streams for "Invite external user"', () => {
    expect(record).toMatchObject({
      time: '2025-03-14T09:26:53.5890000Z',
      resourceId: `/tenants/${SYNTHETIC_TENANT_ID}/providers/Microsoft.aadiam`,
      operationName: 'Invite external user',
      category: 'AuditLogs',
      tenantId: SYNTHETIC_TENANT_ID,
      correlationId: record.properties.correlationId,
      properties: {
        category: 'UserManagement',
        result: 'success',
        activityDisplayName: 'Invite external user',
        activityDateTime: '2025-03-14T09:26:53.5890000+00:00',
        loggedByService: 'Invited Users',
        operationType: 'Add',
        initiatedBy: { user: { userPrincipalName: SYNTHETIC_INVITER_UPN } },
        targetResources: [
          {
            type: 'User',
            userPrincipalName:
              'synthetic-test-guest_example.invalid#EXT#@synthetictesttenant.onmicrosoft.com',
          },
        ],
      },
    });
    expect(record.correlationId).toMatch(GUID);
    expect(record.properties.initiatedBy.user.id).toMatch(GUID);
    expect(record.properties.targetResources[0].id).toMatch(GUID);
  });

  it('carries the invited address and an invitation id in additionalDetails', () => {
    const details = Object.fromEntries(
      record.properties.additionalDetails.map(({ key, value }) => [key, value]),
    );

    expect(details.invitedUserEmailAddress).toBe(SYNTHETIC_INVITEE_EMAIL);
    expect(details.InvitationId).toMatch(GUID);
  });

  it('is marked synthetic in its id, its details and its invented identities', () => {
    expect(record.properties.id).toMatch(
      new RegExp(`^Invited Users_${record.correlationId}_SYNTHETIC_\\d{1,7}$`),
    );
    expect(record.properties.additionalDetails).toContainEqual(SYNTHETIC_MARKER);
    expect(record.properties.additionalDetails).toContainEqual({
      key: 'syntheticTestRunId',
      value: RUN_ID,
    });
    expect(SYNTHETIC_INVITER_UPN).toMatch(/\.invalid$/);
    expect(SYNTHETIC_INVITEE_EMAIL).toMatch(/\.invalid$/);
    expect(record.callerIpAddress).toMatch(/^192\.0\.2\./);
  });

  it('gives every run its own ids when no run id is given', () => {
    const first = buildSyntheticInvitation({ now: NOW }).records[0];
    const second = buildSyntheticInvitation({ now: NOW }).records[0];

    expect(first.properties.id).not.toBe(second.properties.id);
    expect(first.correlationId).not.toBe(second.correlationId);
    expect(first.properties.targetResources[0].id).not.toBe(
      second.properties.targetResources[0].id,
    );
  });

  it('builds the same record from the same run id and time', () => {
    expect(buildSyntheticInvitation({ now: NOW, runId: RUN_ID })).toEqual(body);
  });

  it('keeps the inviter object id stable across runs, as a real user has', () => {
    const other = buildSyntheticInvitation({ now: NOW, runId: 'another-run' }).records[0];

    expect(other.properties.initiatedBy.user.id).toBe(record.properties.initiatedBy.user.id);
  });

  it('uses the tenant, inviter and invitee it is given', () => {
    const tenantId = '7d0c5a8e-2b1f-4e6a-9c3d-5f4e3d2c1b0a';
    const custom = buildSyntheticInvitation({
      tenantId,
      inviterUpn: 'avery.quinn@contoso.example',
      inviteeEmail: 'rowan@fabrikam.example',
      now: NOW,
    }).records[0];

    expect(custom.tenantId).toBe(tenantId);
    expect(custom.resourceId).toBe(`/tenants/${tenantId}/providers/Microsoft.aadiam`);
    expect(custom.properties.initiatedBy.user.userPrincipalName).toBe(
      'avery.quinn@contoso.example',
    );
    expect(custom.properties.targetResources[0].userPrincipalName).toBe(
      'rowan_fabrikam.example#EXT#@synthetictesttenant.onmicrosoft.com',
    );
    expect(custom.properties.additionalDetails).toContainEqual(SYNTHETIC_MARKER);
  });

  it('is read by the detector as a guest invitation from the synthetic inviter', () => {
    const outcome = normalizeAuditRecord(JSON.parse(JSON.stringify(record)));
    if (outcome.kind !== 'audit') {
      throw new Error(`expected an audit record, got ${outcome.kind}: ${outcome.reason}`);
    }
    const invitation = findGuestInvitation(outcome.record);

    expect(invitation?.inviter).toMatchObject({
      type: 'user',
      userPrincipalName: SYNTHETIC_INVITER_UPN,
    });
    expect(invitation?.invitee.email).toBe(SYNTHETIC_INVITEE_EMAIL);
    expect(outcome.record.id).toBe(record.properties.id);
  });
});
