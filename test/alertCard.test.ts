import { buildAlert, type Alert } from '../lib/alert';
import { renderAlertCard, TEAMS_CARD_BUDGET_BYTES } from '../lib/alertCard';
import { plainCardText } from '../lib/cardText';
import { teamsMessageBody } from '../lib/deliverNotification';
import { findGuestInvitation } from '../lib/guestInvitation';
import { normalizeAuditRecord } from '../lib/normalizeAuditRecord';
import { sampleRecords } from './support/fixtures';

// Microsoft's Adaptive Cards SDK; its dist bundle parses and validates cards in Node.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle has no typings of its own path.
const AdaptiveCards = require('adaptivecards/dist/adaptivecards.js') as {
  AdaptiveCard: new () => {
    parse(json: unknown, context: unknown): void;
    validateProperties(): { validationEvents: { message: string }[] };
    version: { toString(): string };
  };
  SerializationContext: new () => {
    eventCount: number;
    getEventAt(index: number): { message: string };
  };
};

function sampleAlert(): Alert {
  const outcome = normalizeAuditRecord(sampleRecords()[3]);
  if (outcome.kind !== 'audit') throw new Error('fixture is not an audit record');
  const invitation = findGuestInvitation(outcome.record);
  if (invitation === undefined) throw new Error('fixture is not an invitation');

  return buildAlert(invitation, 'not-approved', new Date('2026-11-18T10:03:00Z'));
}

function validate(card: unknown): string[] {
  const parsed = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let index = 0; index < context.eventCount; index += 1) {
    problems.push(context.getEventAt(index).message);
  }
  problems.push(...parsed.validateProperties().validationEvents.map((event) => event.message));

  return problems;
}

describe('the alert', () => {
  it('carries every documented field', () => {
    const alert = sampleAlert();

    expect(alert).toMatchObject({
      ruleId: 'gid-0001-guest-invited-by-unapproved-inviter',
      severity: 'medium',
      reason: 'not-approved',
      auditId: 'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487',
      operation: 'Invite external user',
      result: 'success',
      time: '2026-11-18T10:02:51.987654+00:00',
      tenantId: '3f2a9c4e-7b1d-4e8a-9c55-1d2e3f4a5b6c',
      correlationId: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      inviter: {
        type: 'user',
        id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        userPrincipalName: 'malice.morgan@fabrikam.example',
        appId: null,
        servicePrincipalId: null,
        displayName: null,
        ipAddress: '198.51.100.77',
        isGuest: false,
      },
      invitee: {
        email: 'burner.account@mailbox.example',
        userPrincipalName: 'burner.account_mailbox.example#EXT#@fabrikam.onmicrosoft.com',
        id: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
      },
      links: {
        inviter:
          'https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        invitee:
          'https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
      },
    });
  });

  it('gets the same id whenever the same record is seen again', () => {
    expect(sampleAlert().alertId).toBe(sampleAlert().alertId);
    expect(sampleAlert().alertId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('the Teams card', () => {
  it('is a valid Adaptive Card 1.5 that says who invited whom, why, and what to do', () => {
    const card = renderAlertCard(sampleAlert());
    const text = JSON.stringify(card);

    expect(validate(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    expect(text).toContain('malice.morgan@fabrikam.example invited burner.account@mailbox.example');
    expect(text).toContain('The inviter is not on the approved-inviter allowlist.');
    expect(text).toContain('What to do next');
    expect(card.actions).toHaveLength(2);
  });

  it('travels in the message envelope the Teams Workflows webhook expects', () => {
    const body = teamsMessageBody({ id: 'x', json: {}, card: renderAlertCard(sampleAlert()) });

    expect(body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: expect.objectContaining({ type: 'AdaptiveCard', version: '1.5' }) as unknown,
        },
      ],
    });
  });

  it('stays under the Teams size limit and valid with very long values', () => {
    const alert = sampleAlert();
    const long = 'x'.repeat(200_000);
    const huge: Alert = {
      ...alert,
      auditId: long,
      correlationId: long,
      resultReason: long,
      inviter: {
        ...alert.inviter,
        userPrincipalName: `${long}@a.example`,
        displayName: long,
        ipAddress: long,
      },
      invitee: { email: long, userPrincipalName: long, id: long },
    };
    const card = renderAlertCard(huge);
    const size = Buffer.byteLength(JSON.stringify(teamsMessageBody({ id: 'x', json: {}, card })));

    expect(size).toBeLessThan(28 * 1024);
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
    expect(validate(card)).toEqual([]);
  });

  it('shows attacker-chosen names as text, never as links or formatting', () => {
    const alert = sampleAlert();
    const card = renderAlertCard({
      ...alert,
      inviter: {
        ...alert.inviter,
        userPrincipalName: '[Click to approve](https://evil.example/x)**urgent**\u0000\u202e',
      },
    });
    const text = JSON.stringify(card);

    expect(text).toContain(
      '\\\\[Click to approve\\\\](https://evil.example/x)\\\\*\\\\*urgent\\\\*\\\\*',
    );
    expect(text).not.toContain('\\u0000');
    expect(text).not.toContain('\u202e');
  });
});

describe('text on a card', () => {
  it.each([
    ['a UPN', 'malice.morgan@fabrikam.example'],
    ['a guest UPN', 'burner.account_mailbox.example#EXT#@fabrikam.onmicrosoft.com'],
    ['a GUID', '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'],
    ['an IP address', '198.51.100.77'],
    ['a time', '2026-11-18T10:02:51.987654+00:00'],
    ['an audit id', 'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487'],
  ])('shows %s exactly as written', (_, value) => {
    expect(plainCardText(value)).toBe(value);
  });

  it.each([
    ['a link', '[Approve](https://evil.example/x)', '\\[Approve\\](https://evil.example/x)'],
    ['bold', '**urgent**', '\\*\\*urgent\\*\\*'],
    ['italics with underscores', '_urgent_ call me', '\\_urgent\\_ call me'],
    ['a heading', '# Approved', '\\# Approved'],
    ['a list item', '- approved by CISO', '\\- approved by CISO'],
    ['a numbered item', '1. approved', '1\\. approved'],
    ['a quote', '> approved', '\\> approved'],
    [
      'a date function',
      '{{DATE(2026-11-18T10:02:51Z, SHORT)}}',
      '\\{\\{DATE(2026-11-18T10:02:51Z, SHORT)\\}\\}',
    ],
    ['a backslash', 'a\\*b', 'a\\\\\\*b'],
  ])('escapes %s', (_, value, shown) => {
    expect(plainCardText(value)).toBe(shown);
  });
});
