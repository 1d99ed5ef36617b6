import type { Alert } from '../../lib/alert';
import { MAX_RAW_BYTES } from '../../lib/deadLetterStore';
import {
  eventHubMessage,
  invitationRecord,
  inviterNumber,
  malformedRecord,
  signInRecord,
  userUpdateRecord,
} from '../support/auditStream';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  APPROVED_INVITERS,
  batchContext,
  batchHandlerFor,
  batchSummaries,
  detectorInstance,
  newDeploymentTables,
  once,
  TEAMS_PATH,
  WEBHOOK_PATH,
  type LogLine,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Every string value anywhere in a parsed JSON document. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') {
    return [value];
  }
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).flatMap(stringsIn);
  }

  return [];
}

describe('broken records in the stream', () => {
  it('alerts on every good record when one in ten is malformed, and dead-letters and counts the malformed ones', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const expected: string[] = [];
    const malformed: unknown[] = [];
    const messages = Array.from({ length: 10 }, (_, message) => {
      const records = Array.from({ length: 20 }, (_, index) => {
        const key = `mixed-${message}-${index}`;
        if (index % 10 === 9) {
          const broken = malformedRecord(message * 2 + (index === 19 ? 1 : 0));
          malformed.push(broken);

          return broken;
        }
        switch (index % 4) {
          case 0: {
            const record = invitationRecord(key, inviterNumber(500 + message * 20 + index), at);
            expected.push((record as { properties: { id: string } }).properties.id);

            return record;
          }
          case 1:
            return invitationRecord(key, APPROVED_INVITERS[index % 10]!, at);
          case 2:
            return signInRecord(key, at);
          default:
            return userUpdateRecord(key, at);
        }
      });

      return eventHubMessage(records);
    });
    const instance = detectorInstance(tables, receiver);
    const logs: LogLine[] = [];

    await batchHandlerFor(instance)(messages, batchContext({ logs, messages: 10 }));
    await batchHandlerFor(instance)(messages, batchContext({ logs, messages: 10 }));

    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(expected));
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(expected));
    expect(batchSummaries(logs)[0]).toMatchObject({
      records: 200,
      unreadable: 20,
      deadLettered: 20,
      alerts: expected.length,
      storageFailed: false,
    });
    const deadLetters = await instance.deadLetters!.list('record', 100);
    // The redelivered batch rewrote the same twenty dead letters rather than adding twenty.
    expect(deadLetters).toHaveLength(20);
    const first = deadLetters.find(
      (letter) => letter.where === 'message 0 (sequence 1000), record 9',
    );
    expect(first).toMatchObject({
      reason: 'expected a JSON object, got a number',
      rawText: '42',
      rawBytes: 2,
      rawTruncated: false,
    });
    expect(deadLetters.map((letter) => letter.rawText).sort()).toEqual(
      malformed.map((element) => JSON.stringify(element)).sort(),
    );
  });

  it('dead-letters a message that is not JSON whole, and cuts a huge one keeping its size', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const huge = `{"records": [${'9'.repeat(900_000)}`;
    const batch = [
      'this is not JSON {',
      Buffer.from('\u0000\u0001 binary \u00ff garbage', 'latin1'),
      huge,
      eventHubMessage([invitationRecord('after-garbage', inviterNumber(700), at)]),
    ];
    const instance = detectorInstance(tables, receiver);
    const logs: LogLine[] = [];

    await batchHandlerFor(instance)(batch, batchContext({ logs, messages: batch.length }));

    const deadLetters = await instance.deadLetters!.list('record', 10);
    const byWhere = new Map(deadLetters.map((letter) => [letter.where, letter]));
    expect(byWhere.get('message 0 (sequence 1000)')).toMatchObject({
      rawText: 'this is not JSON {',
      rawTruncated: false,
    });
    expect(byWhere.get('message 0 (sequence 1000)')!.reason).toMatch(/^the message is not JSON/);
    expect(byWhere.get('message 1 (sequence 1001)')!.rawText).toBe(
      '\ufffd\ufffd binary \ufffd garbage',
    );
    expect(byWhere.get('message 2 (sequence 1002)')).toMatchObject({
      rawBytes: huge.length,
      rawTruncated: true,
      rawText: huge.slice(0, MAX_RAW_BYTES),
    });
    expect(receiver.acknowledged(WEBHOOK_PATH).size).toBe(1);
    expect(batchSummaries(logs)[0]).toMatchObject({ unreadable: 3, deadLettered: 3, alerts: 1 });
  });
});

describe('hostile values', () => {
  it('survive huge fields, deep nesting, __proto__ keys and control characters: no crash, no pollution, a safe card', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const record = invitationRecord('hostile', inviterNumber(800), at) as {
      properties: {
        id: string;
        initiatedBy: { user: Record<string, unknown> };
        additionalDetails: unknown[];
        targetResources: unknown[];
      };
    };
    const injection =
      '[approve](https://evil.example/x) **urgent** <at>everyone</at> {{DATE(2026)}}';
    record.properties.initiatedBy.user.userPrincipalName = `${injection}\u0000\u202e\u001b[2J${'A'.repeat(300_000)}`;
    record.properties.initiatedBy.user.displayName = 'B'.repeat(500_000);
    record.properties.additionalDetails.push(
      JSON.parse('{"__proto__": {"polluted": "yes"}, "key": "__proto__", "value": "x"}'),
      { key: 'invitedUserEmailAddress', value: `guest+${injection}@partner.example` },
    );
    record.properties.targetResources.push(
      JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}, "type": "User"}'),
    );
    let deep: unknown = 'bottom';
    for (let depth = 0; depth < 100_000; depth += 1) {
      deep = [deep];
    }
    const deeplyNestedRecord = { unexpected: deep };
    const batch = [
      JSON.stringify(eventHubMessage([record])),
      eventHubMessage([deeplyNestedRecord]),
    ];
    const instance = detectorInstance(tables, receiver);
    const logs: LogLine[] = [];

    await batchHandlerFor(instance)(batch, batchContext({ logs, messages: batch.length }));

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once([record.properties.id]));
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once([record.properties.id]));

    const teams = receiver.messages.find((message) => message.path === TEAMS_PATH)!;
    expect(Buffer.byteLength(teams.body)).toBeLessThan(28 * 1024);
    for (const text of stringsIn(JSON.parse(teams.body))) {
      // eslint-disable-next-line no-control-regex -- looking for control characters.
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
      expect(text).not.toContain('[approve](');
      expect(text).not.toContain('**urgent**');
      expect(text).not.toContain('<at>');
      expect(text).not.toContain('{{');
    }
    const webhook = receiver.messages.find((message) => message.path === WEBHOOK_PATH)!;
    const alert = JSON.parse(webhook.body) as Alert;
    expect(alert.auditId).toBe(record.properties.id);
    expect(alert.inviter.userPrincipalName!.length).toBeLessThanOrEqual(1024);
    expect(alert.inviter.userPrincipalName!.startsWith(injection)).toBe(true);
    expect(Buffer.byteLength(webhook.body)).toBeLessThan(32 * 1024);
    for (const line of logs) {
      expect(line.text.length).toBeLessThan(4_096);
    }

    const [deadLetter] = await instance.deadLetters!.list('record', 10);
    expect(deadLetter).toMatchObject({
      where: 'message 1 (sequence 1001), record 0',
      rawText: '(not serialisable: RangeError)',
    });
  });
});
