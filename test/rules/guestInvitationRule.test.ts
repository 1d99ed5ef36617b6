import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Allowlist } from '../../lib/allowlist';
import { allowlistEntrySchema } from '../../lib/allowlistEntry';
import { buildAlert } from '../../lib/alert';
import { guestInvitationRule } from '../../lib/detectionRule';
import { evaluateApproval } from '../../lib/evaluateApproval';
import { findGuestInvitation } from '../../lib/guestInvitation';
import { normalizeAuditRecord } from '../../lib/normalizeAuditRecord';

const VECTORS_DIR = join(__dirname, '..', '..', 'lib', 'rules', 'guestInvitation', 'vectors');

interface Vector {
  name: string;
  expected: { alert: boolean; reason?: string; severity?: string };
  record: unknown;
}

const file = JSON.parse(readFileSync(join(VECTORS_DIR, 'vectors.json'), 'utf8')) as {
  allowlist: string;
  evaluatedAt: string;
  vectors: Vector[];
};
const allowlist = new Allowlist(
  (JSON.parse(readFileSync(join(VECTORS_DIR, file.allowlist), 'utf8')) as unknown[]).map((entry) =>
    allowlistEntrySchema.parse(entry),
  ),
);
const evaluatedAt = new Date(file.evaluatedAt);

function evaluate(record: unknown) {
  const outcome = normalizeAuditRecord(record);
  if (outcome.kind !== 'audit') {
    return { invitation: false as const };
  }
  const invitation = findGuestInvitation(outcome.record);
  if (invitation === undefined) {
    return { invitation: false as const };
  }
  const decision = evaluateApproval(invitation, allowlist, evaluatedAt);

  return decision.approved
    ? { invitation: true as const, alert: undefined }
    : { invitation: true as const, alert: buildAlert(invitation, decision.reason, evaluatedAt) };
}

describe('the guest invitation rule', () => {
  it('ships positive vectors and near-miss negatives', () => {
    const positives = file.vectors.filter((vector) => vector.expected.alert);
    const negatives = file.vectors.filter((vector) => !vector.expected.alert);

    expect(positives.length).toBeGreaterThanOrEqual(10);
    expect(negatives.length).toBeGreaterThanOrEqual(10);
    expect(new Set(file.vectors.map((vector) => vector.name)).size).toBe(file.vectors.length);
  });

  it.each(file.vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const result = evaluate(vector.record);
    const alert = result.invitation ? result.alert : undefined;

    expect(alert !== undefined).toBe(vector.expected.alert);
    if (alert !== undefined) {
      expect(alert.reason).toBe(vector.expected.reason);
      if (vector.expected.severity !== undefined) {
        expect(alert.severity).toBe(vector.expected.severity);
      }
    }
  });

  it('alerts on every invitation with reason allowlist-unavailable when the allowlist cannot be read', () => {
    const invitations = file.vectors
      .map((vector) => normalizeAuditRecord(vector.record))
      .flatMap((outcome) => (outcome.kind === 'audit' ? [outcome.record] : []))
      .map(findGuestInvitation)
      .filter((invitation) => invitation !== undefined);

    expect(invitations.length).toBeGreaterThan(10);
    for (const invitation of invitations) {
      expect(evaluateApproval(invitation, undefined, evaluatedAt)).toEqual({
        approved: false,
        reason: 'allowlist-unavailable',
      });
    }
  });
});

describe('the rule metadata', () => {
  it('is complete: id, title, severities, ATT&CK mapping, references and runbook', () => {
    expect(guestInvitationRule.id).toMatch(/^[a-z0-9-]+$/);
    expect(guestInvitationRule.title.length).toBeGreaterThan(10);
    expect(guestInvitationRule.severity).toBe('medium');
    expect(guestInvitationRule.elevatedSeverity).toBe('high');
    expect(guestInvitationRule.attack.map((mapping) => mapping.technique)).toContain('T1078.004');
    for (const reference of guestInvitationRule.references) {
      expect(new URL(reference).protocol).toBe('https:');
    }
    expect(guestInvitationRule.runbook.length).toBeGreaterThanOrEqual(4);
    expect(guestInvitationRule.logSource.activities).toEqual([
      'Invite external user',
      'Invite external user with reset invitation status',
      'Invite internal user to B2B collaboration',
    ]);
  });
});
