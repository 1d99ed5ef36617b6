import fc from 'fast-check';
import { InvocationContext } from '@azure/functions';

import type { Alert } from '../../lib/alert';
import { renderAlertCard, TEAMS_CARD_BUDGET_BYTES } from '../../lib/alertCard';
import { Allowlist } from '../../lib/allowlist';
import type { AlertSink } from '../../lib/alertSink';
import type { AuditRecord } from '../../lib/auditRecord';
import { boundAlert, MAX_ALERT_JSON_LENGTH } from '../../lib/boundAlert';
import { StaticAllowlist } from '../../lib/cachedAllowlist';
import { plainCardText } from '../../lib/cardText';
import { capRawText, MAX_RAW_BYTES, type UnreadableRecord } from '../../lib/deadLetterStore';
import { detectInvitations } from '../../lib/detectInvitations';
import { domainAllowed, evaluateApproval } from '../../lib/evaluateApproval';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import { isGuestInvitationRecord, type GuestInvitation } from '../../lib/guestInvitation';
import { inviterKeyProblem } from '../../lib/inviterKey';
import {
  normalizeAuditRecord,
  readAuditRecordHead,
  screenAuditRecord,
} from '../../lib/normalizeAuditRecord';
import { storableText } from '../../lib/storableText';

const now = new Date('2026-11-18T10:00:00Z');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Any value a field could hold: text of any code points and length, numbers, null, nesting. */
const anyValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).map((unit) => unit.repeat(5_000)),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.anything({ maxDepth: 2 }),
);
const orAny = <T>(value: T) => fc.oneof(fc.constant(value), anyValue);

/** Resource-log records shaped like invitations, with anything at all in their fields. */
const invitationShaped = fc.record({
  category: orAny('AuditLogs'),
  operationName: orAny('Invite external user'),
  tenantId: anyValue,
  properties: fc.oneof(
    fc.record({
      id: anyValue,
      category: orAny('UserManagement'),
      activityDisplayName: orAny('Invite external user'),
      result: anyValue,
      activityDateTime: anyValue,
      initiatedBy: fc.oneof(
        fc.record({
          user: fc.record({
            id: anyValue,
            userPrincipalName: anyValue,
            displayName: anyValue,
            ipAddress: anyValue,
          }),
        }),
        fc.record({ app: fc.record({ appId: anyValue, servicePrincipalId: anyValue }) }),
        anyValue,
      ),
      targetResources: fc.oneof(
        fc.array(fc.record({ id: anyValue, type: orAny('User'), userPrincipalName: anyValue }), {
          maxLength: 3,
        }),
        anyValue,
      ),
      additionalDetails: fc.oneof(
        fc.array(fc.record({ key: orAny('invitedUserEmailAddress'), value: anyValue }), {
          maxLength: 3,
        }),
        anyValue,
      ),
    }),
    anyValue,
  ),
});

/** JSON documents whose objects carry `__proto__` and `constructor` keys as plain data. */
const prototypeKeys = fc
  .jsonValue({ maxDepth: 3 })
  .map(
    (value) =>
      JSON.parse(
        `{"__proto__": ${JSON.stringify(value)}, "constructor": {"prototype": {"polluted": 1}},` +
          ` "properties": {"__proto__": ${JSON.stringify(value)}, "initiatedBy": {"__proto__": {"user": {"userPrincipalName": "x@y.example"}}}}}`,
      ) as unknown,
  );

const anyElement = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3 }),
  invitationShaped,
  prototypeKeys,
);

function expectPrototypeUntouched(): void {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).user).toBeUndefined();
}

describe('the normaliser and the rule, on arbitrary input', () => {
  it('never throw, and never touch Object.prototype', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyElement, { maxLength: 6 }), async (elements) => {
        for (const element of elements) {
          normalizeAuditRecord(element);
          readAuditRecordHead(element);
        }
        const located = elements.map((element, index) => ({ where: `item ${index}`, element }));
        const result = await detectInvitations(located, new StaticAllowlist([]), now);

        expect(result.summary.records).toBe(elements.length);
        expectPrototypeUntouched();
      }),
      { numRuns: 400 },
    );
  });

  it('screen each record exactly as reading its head and asking the rule would', () => {
    fc.assert(
      fc.property(anyElement, (element) => {
        const head = readAuditRecordHead(element);
        const screening = screenAuditRecord(element, isGuestInvitationRecord);

        if (head.kind === 'audit') {
          expect(screening).toBe(isGuestInvitationRecord(head.head) ? 'match' : 'audit');
        } else {
          expect(screening).toEqual(head);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('turn every invitation into an alert whose card fits Teams and whose stored form fits a table entity', async () => {
    let alerts = 0;
    await fc.assert(
      fc.asyncProperty(invitationShaped, async (element) => {
        const result = await detectInvitations(
          [{ where: 'item 0', element }],
          new StaticAllowlist([]),
          now,
        );

        for (const alert of result.alerts) {
          alerts += 1;
          for (const shown of [alert, boundAlert(alert)]) {
            const card = JSON.stringify(renderAlertCard(shown));
            expect(Buffer.byteLength(card)).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
          }
          expect(JSON.stringify(boundAlert(alert)).length).toBeLessThanOrEqual(
            MAX_ALERT_JSON_LENGTH,
          );
        }
      }),
      { numRuns: 300 },
    );

    // The generator is shaped so that a good share of its records are invitations.
    expect(alerts).toBeGreaterThan(20);
  });

  it('let the batch handler finish any batch, dead-lettering what it cannot read', async () => {
    const batchElement = fc.oneof(
      anyElement,
      fc.array(anyElement, { maxLength: 3 }).map((records) => ({ records })),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(batchElement, { maxLength: 5 }), async (batch) => {
        const deadLettered: UnreadableRecord[] = [];
        const sink: AlertSink = {
          send: (alerts: Alert[]) =>
            Promise.resolve({ delivered: alerts.length, failed: 0, failures: [] }),
        };
        const handler = createBatchHandler({
          allowlist: new StaticAllowlist([]),
          sink,
          deadLetters: {
            recordUnreadable: (records) => {
              deadLettered.push(...records);

              return Promise.resolve();
            },
          },
        });
        const context = new InvocationContext({
          invocationId: 'property',
          triggerMetadata: { sequenceNumberArray: batch.map((_, index) => index) },
          logHandler: () => undefined,
        });

        await handler(batch, context);

        for (const record of deadLettered) {
          expect(typeof record.rawText).toBe('string');
          expect(record.identity).not.toBe('');
        }
        expect(new Set(deadLettered.map((record) => record.identity)).size).toBe(
          deadLettered.length,
        );
        expectPrototypeUntouched();
      }),
      { numRuns: 300 },
    );
  });
});

function invitationBy(userPrincipalName: string, inviteeEmail = 'guest@partner.example') {
  const record = {} as AuditRecord;
  const invitation: GuestInvitation = {
    record,
    inviter: {
      type: 'user',
      id: undefined,
      userPrincipalName,
      displayName: undefined,
      ipAddress: undefined,
    },
    invitee: { email: inviteeEmail, userPrincipalName: undefined, id: undefined },
  };

  return invitation;
}

const allowlistedUpn = fc
  .emailAddress({ size: 'small' })
  .filter((upn) => inviterKeyProblem(upn) === undefined);

describe('approval by the allowlist', () => {
  it('never approves a UPN that is not, ignoring case and surrounding spaces, the allowlisted one', () => {
    const candidate = (allowlisted: string) =>
      fc.oneof(
        fc.emailAddress(),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.constantFrom(
          `${allowlisted}x`,
          `x${allowlisted}`,
          allowlisted.replace('@', '.'),
          allowlisted.replace(/@/, '@sub.'),
          allowlisted.slice(0, -1),
          `${allowlisted}.`,
          allowlisted.replace(/\.[^.]+$/, ''),
          `${allowlisted.split('@')[0]}@evil.example`,
          `"${allowlisted}"`,
          `${allowlisted}\u0000`,
          allowlisted.replace(/[a-z]/, '\u212a'),
        ),
      );

    fc.assert(
      fc.property(
        allowlistedUpn.chain((allowlisted) =>
          fc.tuple(fc.constant(allowlisted), candidate(allowlisted)),
        ),
        ([allowlisted, upn]) => {
          const decision = evaluateApproval(
            invitationBy(upn),
            new Allowlist([{ inviter: allowlisted }]),
            now,
          );
          const same = upn.trim().toLowerCase() === allowlisted.toLowerCase();

          expect(decision.approved && !same).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('approves the allowlisted UPN whatever its case and surrounding spaces', () => {
    fc.assert(
      fc.property(
        allowlistedUpn,
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.constantFrom('', ' ', '  '),
        (allowlisted, upper, padding) => {
          const upn = [...allowlisted]
            .map((character, index) =>
              upper[index % upper.length] ? character.toUpperCase() : character,
            )
            .join('');
          const decision = evaluateApproval(
            invitationBy(`${padding}${upn}${padding}`),
            new Allowlist([{ inviter: allowlisted }]),
            now,
          );

          expect(decision.approved).toBe(true);
        },
      ),
    );
  });

  it('allows an invitee domain only when it is a listed domain or a subdomain on a dot boundary', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);

    fc.assert(
      fc.property(fc.domain(), label, fc.domain(), (allowed, prefix, other) => {
        const entry = { inviter: 'lead@fabrikam.example', allowedDomains: [allowed] };

        expect(domainAllowed(entry, allowed)).toBe(true);
        expect(domainAllowed(entry, `${prefix}.${allowed}`)).toBe(true);
        expect(domainAllowed(entry, `${prefix}${allowed}`)).toBe(false);
        expect(domainAllowed(entry, `${allowed}.${prefix}`)).toBe(false);
        expect(domainAllowed(entry, other)).toBe(
          other === allowed || other.endsWith(`.${allowed}`),
        );

        const approve = (email: string) =>
          evaluateApproval(
            invitationBy('lead@fabrikam.example', email),
            new Allowlist([entry]),
            now,
          ).approved;
        expect(approve(`guest@${prefix}.${allowed.toUpperCase()}.`)).toBe(true);
        expect(approve(`guest@${prefix}${allowed}`)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('text that reaches cards and tables', () => {
  it('shows no control character and nothing unescaped that Markdown would act on, within a bounded length', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.integer({ min: 2, max: 300 }),
        (value, maxLength) => {
          const shown = plainCardText(value, maxLength);

          // eslint-disable-next-line no-control-regex -- looking for control characters.
          expect(shown).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
          const unescaped = shown.replace(/\\[\s\S]/g, ' ');
          expect(unescaped).not.toMatch(/[\\`*[\]<>~{}]/);
          expect(unescaped).not.toMatch(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/u);
          expect(unescaped).not.toMatch(/^\s*(?:[#+-](?:\s|$)|>|\d{1,9}[.)](?:\s|$))/);
          expect(shown.length).toBeLessThanOrEqual(2 * maxLength + 1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('stores text without the characters Table Storage refuses, within the limit', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 2, max: 250 }),
        (value, maxLength) => {
          const stored = storableText(value, maxLength);

          expect(stored.length).toBeLessThanOrEqual(maxLength);
          // eslint-disable-next-line no-control-regex -- looking for refused characters.
          expect(stored).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
          expect(stored).not.toMatch(LONE_SURROGATE);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps at most the raw-text limit of a dead letter and says how big it was', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 0, max: 3 }),
        (chunk, repeat) => {
          const text = chunk.repeat(1 + repeat * 400);
          const kept = capRawText(text);

          expect(kept.rawBytes).toBe(Buffer.byteLength(text));
          expect(kept.rawTruncated).toBe(kept.rawBytes > MAX_RAW_BYTES);
          expect(kept.rawText.length).toBeLessThanOrEqual(MAX_RAW_BYTES);
        },
      ),
      { numRuns: 300 },
    );
  });
});
