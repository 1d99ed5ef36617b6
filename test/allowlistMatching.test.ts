import fc from 'fast-check';

import { Allowlist, inviterKeys } from '../lib/allowlist';
import { allowlistEntrySchema, describeIssues } from '../lib/allowlistEntry';
import type { AuditRecord, Initiator } from '../lib/auditRecord';
import { domainAllowed, evaluateApproval, parseAuditTime } from '../lib/evaluateApproval';
import { emailFromGuestUpn, type GuestInvitation } from '../lib/guestInvitation';
import { inviterKeyProblem, tryParseInviterKey } from '../lib/inviterKey';

function user(userPrincipalName: string | undefined, id?: string): Initiator {
  return { type: 'user', id, userPrincipalName, displayName: undefined, ipAddress: undefined };
}

describe('inviter keys', () => {
  it.each([
    ['Alice@Contoso.com', 'upn', 'alice@contoso.com'],
    ['  bob@contoso.com ', 'upn', 'bob@contoso.com'],
    [
      'vendor_supplier.example#EXT#@contoso.onmicrosoft.com',
      'upn',
      'vendor_supplier.example#ext#@contoso.onmicrosoft.com',
    ],
    ['8C1F2E3D-4B5A-4C6D-9E7F-0A1B2C3D4E5F', 'guid', '8c1f2e3d-4b5a-4c6d-9e7f-0a1b2c3d4e5f'],
  ])('%p is a valid %s key with normal form %p', (input, kind, value) => {
    expect(tryParseInviterKey(input)).toEqual({ kind, value });
  });

  it.each([
    ['', 'the inviter is empty'],
    ['alice', 'the inviter must be a user principal name (name@domain) or a GUID'],
    ['a@b@contoso.com', 'the inviter must be a user principal name (name@domain) or a GUID'],
    ['alice@localhost', 'the part of the user principal name after "@" is not a domain name'],
    [
      'al ice@contoso.com',
      'the part of the user principal name before "@" has characters a UPN cannot have',
    ],
    [
      '{8c1f2e3d-4b5a-4c6d-9e7f-0a1b2c3d4e5f}',
      'the inviter must be a user principal name (name@domain) or a GUID',
    ],
  ])('%p is refused: %s', (input, problem) => {
    expect(inviterKeyProblem(input)).toBe(problem);
  });
});

describe('allowlist entries', () => {
  it('parses the documented shape and normalises inviter and domains', () => {
    expect(
      allowlistEntrySchema.parse({
        inviter: 'Alice@Contoso.com',
        expiresAt: '2027-01-31T00:00:00Z',
        allowedDomains: ['Partner.Example.'],
        note: 'why',
      }),
    ).toEqual({
      inviter: 'alice@contoso.com',
      expiresAt: '2027-01-31T00:00:00Z',
      allowedDomains: ['partner.example'],
      note: 'why',
    });
  });

  it('names every problem in an invalid entry', () => {
    const result = allowlistEntrySchema.safeParse({
      inviter: 'nobody',
      expiresAt: '2027-01-31',
      allowedDomains: ['not a domain'],
      colour: 'blue',
    });

    expect(result.success).toBe(false);
    expect(describeIssues(result.error!).sort()).toEqual([
      '(body): Unrecognized key: "colour"',
      'allowedDomains.0: must be a domain name such as partner.example (IDNs in punycode)',
      'expiresAt: must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z',
      'inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ]);
  });
});

describe('matching an inviter to the allowlist', () => {
  const allowlist = new Allowlist([
    { inviter: 'alice@contoso.com' },
    { inviter: '8c1f2e3d-4b5a-4c6d-9e7f-0a1b2c3d4e5f' },
  ]);

  it('matches a user by UPN without regard to case, or by object id', () => {
    expect(allowlist.entriesFor(user('ALICE@contoso.COM'))).toHaveLength(1);
    expect(
      allowlist.entriesFor(user(undefined, '8C1F2E3D-4B5A-4C6D-9E7F-0A1B2C3D4E5F')),
    ).toHaveLength(1);
  });

  it('never matches a substring, prefix or suffix of an approved UPN', () => {
    for (const upn of [
      'malice@contoso.com',
      'alice@contoso.com.evil.example',
      'alice@sub.contoso.com',
      'lice@contoso.com',
    ]) {
      expect(allowlist.entriesFor(user(upn))).toEqual([]);
    }
  });

  it('matches an app only by its GUIDs, never by display name', () => {
    const app: Initiator = {
      type: 'app',
      appId: undefined,
      servicePrincipalId: '8c1f2e3d-4b5a-4c6d-9e7f-0a1b2c3d4e5f',
      displayName: 'alice@contoso.com',
      servicePrincipalName: undefined,
    };

    expect(inviterKeys(app)).toEqual(['8c1f2e3d-4b5a-4c6d-9e7f-0a1b2c3d4e5f']);
    expect(inviterKeys({ type: 'unknown' })).toEqual([]);
  });

  it('property: a UPN approves only itself, whatever is added around it', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
    fc.assert(
      fc.property(
        label,
        label,
        label,
        fc.stringMatching(/^[a-z0-9._-]{1,6}$/),
        (local, domain, tld, extra) => {
          const approved = `${local}@${domain}.${tld}`;
          const list = new Allowlist([{ inviter: approved }]);
          const variants = [
            `${extra}${local}@${domain}.${tld}`,
            `${local}@${domain}.${tld}.${extra}x`,
            `${local}${extra}@${domain}.${tld}`,
          ];

          expect(list.entriesFor(user(approved.toUpperCase()))).toHaveLength(1);
          for (const variant of variants) {
            expect(list.entriesFor(user(variant))).toEqual([]);
          }
        },
      ),
    );
  });
});

describe('allowed domains', () => {
  const entry = { inviter: 'alice@contoso.com', allowedDomains: ['partner.example'] };

  it.each([
    ['partner.example', true],
    ['eu.partner.example', true],
    ['evilpartner.example', false],
    ['partner.example.evil', false],
    ['example', false],
    [undefined, false],
  ])('invitee domain %p passes: %p', (domain, allowed) => {
    expect(domainAllowed(entry, domain)).toBe(allowed);
  });

  it('property: only the domain itself or a dot-boundary subdomain passes', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,10}$/);
    fc.assert(
      fc.property(label, label, label, (allowed, prefix, other) => {
        const listed = { inviter: 'a@b.example', allowedDomains: [`${allowed}.example`] };

        expect(domainAllowed(listed, `${prefix}.${allowed}.example`)).toBe(true);
        expect(domainAllowed(listed, `${prefix}${allowed}.example`)).toBe(false);
        expect(domainAllowed(listed, `${allowed}.example.${other}`)).toBe(false);
      }),
    );
  });
});

describe('reading the invitee and the time', () => {
  it.each([
    ['sam.taylor_partner.example#EXT#@contoso.onmicrosoft.com', 'sam.taylor@partner.example'],
    ['first_last_gmail.com#EXT#@contoso.onmicrosoft.com', 'first_last@gmail.com'],
    ['dana.lee@contoso.com', 'dana.lee@contoso.com'],
    ['broken#EXT#@contoso.onmicrosoft.com', undefined],
  ])('the guest UPN %p gives the email %p', (upn, email) => {
    expect(emailFromGuestUpn(upn)).toBe(email);
  });

  it.each([
    ['2023-07-13T00:29:59.5100003Z', Date.UTC(2023, 6, 13, 0, 29, 59, 510)],
    ['2023-07-13T00:29:59.5100003+00:00', Date.UTC(2023, 6, 13, 0, 29, 59, 510)],
    ['2024-09-23 14:33:09.049661100', Date.UTC(2024, 8, 23, 14, 33, 9, 49)],
    ['2018-01-09T21:20:02Z', Date.UTC(2018, 0, 9, 21, 20, 2)],
  ])('reads the audit time %p', (text, millis) => {
    expect(parseAuditTime(text)).toBe(millis);
  });

  it('reads an unparsable time as NaN', () => {
    expect(parseAuditTime('yesterday')).toBeNaN();
  });
});

describe('expiry', () => {
  const entry = { inviter: 'alice.morgan@fabrikam.example', expiresAt: '2026-06-30T00:00:00Z' };
  const invitationAt = (time: string): GuestInvitation => ({
    record: { time } as AuditRecord,
    inviter: {
      type: 'user',
      id: undefined,
      userPrincipalName: 'alice.morgan@fabrikam.example',
      displayName: undefined,
      ipAddress: undefined,
    },
    invitee: { email: 'guest@partner.example', userPrincipalName: undefined, id: undefined },
  });
  const decide = (time: string, now: string) =>
    evaluateApproval(invitationAt(time), new Allowlist([entry]), new Date(now));

  it.each([
    [
      'made and read while the entry is current',
      '2026-05-02T08:00:00Z',
      '2026-05-02T08:05:00Z',
      true,
    ],
    [
      'made while current, read after the expiry',
      '2026-06-29T23:58:00Z',
      '2026-06-30T00:03:00Z',
      false,
    ],
    ['made after the expiry', '2026-07-01T08:00:00Z', '2026-07-01T08:05:00Z', false],
    [
      'stamped after the expiry, read before it',
      '2026-07-01T08:00:00Z',
      '2026-06-29T00:00:00Z',
      false,
    ],
  ])('approves an invitation %s: %p', (_, time, now, approved) => {
    const decision = decide(time, now);

    expect(decision.approved).toBe(approved);
    if (!decision.approved) {
      expect(decision.reason).toBe('approval-expired');
    }
  });
});
