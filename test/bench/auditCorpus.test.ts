import { Readable } from 'node:stream';

import { allowlistEntrySchema } from '../../lib/allowlistEntry';
import { elementsOf, UnparsableElement, type LocatedElement } from '../../lib/auditInput';
import { StaticAllowlist } from '../../lib/cachedAllowlist';
import { detectInvitations } from '../../lib/detectInvitations';
import { readAuditStream } from '../../lib/readAuditFile';
import { AuditCorpus, type CorpusMessage, type CorpusShape } from '../../scripts/bench/auditCorpus';

const NOW = new Date('2026-11-20T00:00:00Z');

function elementsOfMessages(messages: CorpusMessage[]): LocatedElement[] {
  return messages.flatMap((message, index) => [
    ...elementsOf(JSON.parse(message.body), `message ${index}`),
  ]);
}

function sum(messages: CorpusMessage[], count: (message: CorpusMessage) => number): number {
  return messages.reduce((total, message) => total + count(message), 0);
}

describe('the benchmark corpus', () => {
  it('is the same for the same seed', () => {
    const first = new AuditCorpus({ seed: 7 }).messages(200_000);
    const second = new AuditCorpus({ seed: 7 }).messages(200_000);

    expect(second.map((message) => message.body)).toEqual(first.map((message) => message.body));
  });

  it('differs for another seed', () => {
    const first = new AuditCorpus({ seed: 7 }).nextMessage();
    const second = new AuditCorpus({ seed: 8 }).nextMessage();

    expect(second.body).not.toEqual(first.body);
  });

  it('holds records of about 2 KB, as Entra audit records are', () => {
    const messages = new AuditCorpus().messages(4_000_000);
    const averageBytes = sum(messages, (m) => m.body.length) / sum(messages, (m) => m.records);

    expect(averageBytes).toBeGreaterThan(1800);
    expect(averageBytes).toBeLessThan(2600);
  });

  it('has about one guest invitation in a hundred records, and the detector finds exactly those', async () => {
    const corpus = new AuditCorpus();
    const messages = corpus.messages(8_000_000);
    const expected = sum(messages, (m) => m.invitations);
    const records = sum(messages, (m) => m.records);

    const result = await detectInvitations(
      elementsOfMessages(messages),
      new StaticAllowlist(corpus.allowlist),
      NOW,
    );

    expect(result.summary.records).toBe(records);
    expect(result.summary.invitations).toBe(expected);
    expect(expected / records).toBeGreaterThan(0.006);
    expect(expected / records).toBeLessThan(0.014);
  });

  it('has sign-in records that the detector ignores, and nothing it cannot read', async () => {
    const corpus = new AuditCorpus();
    const messages = corpus.messages(4_000_000);
    const signIns = sum(messages, (m) => (m.shape === 'sign-in' ? m.records : 0));

    const result = await detectInvitations(
      elementsOfMessages(messages),
      new StaticAllowlist(corpus.allowlist),
      NOW,
    );

    expect(signIns).toBeGreaterThan(0);
    expect(result.summary.ignored).toBe(signIns);
    expect(result.summary.unreadable).toBe(0);
    expect(result.problems).toEqual([]);
  });

  it('mixes every shape, resource-log records the most', () => {
    const messages = new AuditCorpus().messages(8_000_000);
    const records = sum(messages, (m) => m.records);
    const shareOf = (shape: CorpusShape): number =>
      sum(messages, (m) => (m.shape === shape ? m.records : 0)) / records;

    expect(shareOf('resource-log')).toBeGreaterThan(0.6);
    expect(shareOf('sign-in')).toBeGreaterThan(0.08);
    expect(shareOf('graph')).toBeGreaterThan(0.02);
    expect(shareOf('log-analytics')).toBeGreaterThan(0.02);
  });

  it('gives Log Analytics rows with their dynamic columns as JSON text', () => {
    const record = new AuditCorpus().nextRecord('log-analytics').element;

    expect(typeof record.InitiatedBy).toBe('string');
    expect(typeof record.TargetResources).toBe('string');
    expect(typeof record.AdditionalDetails).toBe('string');
    expect(JSON.parse(record.InitiatedBy as string)).toEqual(expect.any(Object));
  });

  it('alerts on some invitations and approves others', async () => {
    const corpus = new AuditCorpus();
    const messages = corpus.messages(8_000_000);

    const result = await detectInvitations(
      elementsOfMessages(messages),
      new StaticAllowlist(corpus.allowlist),
      NOW,
    );

    expect(result.summary.approved).toBeGreaterThan(0);
    expect(result.summary.alerts).toBeGreaterThan(0);
    expect(new Set(result.alerts.map((alert) => alert.reason))).toEqual(
      new Set(['not-approved', 'approval-expired', 'domain-not-allowed']),
    );
  });

  it('makes a trigger batch of exactly the records asked for', () => {
    const corpus = new AuditCorpus();

    for (let index = 0; index < 50; index += 1) {
      const batch = corpus.batch(100);
      expect(sum(batch, (m) => m.records)).toBe(100);
      expect(elementsOfMessages(batch)).toHaveLength(100);
    }
  });

  it('has no invitations when the share is zero', () => {
    const messages = new AuditCorpus({ invitationShare: 0 }).messages(2_000_000);

    expect(sum(messages, (m) => m.invitations)).toBe(0);
  });

  it('comes with an allowlist of 300 valid entries, some expired and some limited to domains', () => {
    const entries = new AuditCorpus().allowlist;
    const parsed = entries.map((entry) => allowlistEntrySchema.safeParse(entry));

    expect(entries).toHaveLength(300);
    expect(parsed.filter((result) => !result.success)).toEqual([]);
    expect(new Set(entries.map((entry) => entry.inviter)).size).toBe(300);
    expect(entries.some((entry) => entry.expiresAt === '2026-06-30T00:00:00Z')).toBe(true);
    expect(entries.some((entry) => entry.allowedDomains !== undefined)).toBe(true);
  });

  it('writes NDJSON lines that scan reads as one record each', async () => {
    const corpus = new AuditCorpus();
    const lines = Array.from({ length: 300 }, () => corpus.nextLine().line);

    const read: LocatedElement[] = [];
    for await (const located of readAuditStream(Readable.from([lines.join('\n')]), 'export')) {
      read.push(located);
    }

    expect(read).toHaveLength(300);
    expect(read.filter((located) => located.element instanceof UnparsableElement)).toEqual([]);
  });
});
