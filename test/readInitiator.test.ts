import type { AuditRecord } from '../lib/auditRecord';
import { StaticAllowlist } from '../lib/cachedAllowlist';
import { detectInvitations } from '../lib/detectInvitations';
import { normalizeAuditRecord, readInitiator } from '../lib/normalizeAuditRecord';
import { fixture } from './support/fixtures';

function auditRecord(element: unknown): AuditRecord {
  const outcome = normalizeAuditRecord(element);
  if (outcome.kind !== 'audit') {
    throw new Error(`expected an audit record, got ${outcome.kind}: ${outcome.reason}`);
  }

  return outcome.record;
}

describe('reading who invited and whom', () => {
  it('reads a Graph object exported through PowerShell, whose keys are all PascalCase', () => {
    const record = auditRecord(fixture('records/graph-invite-powershell-casing.json'));

    expect(record.initiatedBy).toEqual({
      type: 'user',
      id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      userPrincipalName: 'malice.morgan@fabrikam.example',
      displayName: undefined,
      ipAddress: '198.51.100.77',
    });
    expect(record.targetResources).toEqual([
      {
        id: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
        type: 'User',
        displayName: undefined,
        userPrincipalName: 'burner.account_mailbox.example#EXT#@fabrikam.onmicrosoft.com',
      },
    ]);
  });

  it('approves that PowerShell-cased invitation for its listed inviter, and alerts for another', async () => {
    const element = fixture('records/graph-invite-powershell-casing.json');
    const now = new Date('2026-11-18T11:00:00Z');

    const listed = await detectInvitations(
      [{ where: 'item 0', element }],
      new StaticAllowlist([{ inviter: 'Malice.Morgan@fabrikam.example' }]),
      now,
    );
    const unlisted = await detectInvitations(
      [{ where: 'item 0', element }],
      new StaticAllowlist([{ inviter: 'alice.morgan@fabrikam.example' }]),
      now,
    );

    expect(listed.summary).toMatchObject({ invitations: 1, approved: 1, alerts: 0 });
    expect(unlisted.alerts.map((alert) => [alert.reason, alert.invitee.email])).toEqual([
      ['not-approved', 'burner.account@mailbox.example'],
    ]);
  });

  it.each([
    ['an app known only by its servicePrincipalId', { app: { servicePrincipalId: 'SP-1' } }, 'app'],
    ['an app known only by its name', { app: { displayName: 'Onboarding' } }, 'app'],
    ['an empty initiatedBy', {}, 'unknown'],
    ['a user with no id and no UPN', { user: { id: null, userPrincipalName: '' } }, 'unknown'],
  ])('reads %s as %p', (_, initiatedBy, type) => {
    expect(readInitiator(initiatedBy).type).toBe(type);
  });

  it('keeps the IP address and name of a user it cannot identify, who stays unknown', () => {
    const initiator = readInitiator({
      user: {
        id: null,
        userPrincipalName: null,
        displayName: 'Sync account',
        ipAddress: '203.0.113.9',
      },
    });

    expect(initiator).toEqual({
      type: 'unknown',
      ipAddress: '203.0.113.9',
      displayName: 'Sync account',
    });
  });
});
