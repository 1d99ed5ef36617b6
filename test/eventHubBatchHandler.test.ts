import { InvocationContext } from '@azure/functions';

import type { Alert } from '../lib/alert';
import type { AlertSink } from '../lib/alertSink';
import { StaticAllowlist } from '../lib/cachedAllowlist';
import { createBatchHandler } from '../lib/eventHubBatchHandler';
import { fixture, sampleRecords } from './support/fixtures';

interface LogLine {
  level: string;
  text: string;
}

function testContext(logs: LogLine[], batchSize: number): InvocationContext {
  return new InvocationContext({
    invocationId: 'inv-0001',
    functionName: 'detectGuestInvitations',
    triggerMetadata: {
      sequenceNumberArray: Array.from({ length: batchSize }, (_, index) => 1000 + index),
      partitionContext: {
        eventHubName: 'entra-audit-logs',
        consumerGroup: 'detector',
        partitionId: '0',
      },
    },
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
  });
}

class RecordingSink implements AlertSink {
  readonly sent: Alert[] = [];

  send(alerts: Alert[]) {
    this.sent.push(...alerts);

    return Promise.resolve({ delivered: alerts.length, failed: 0, failures: [] });
  }
}

function summaryOf(logs: LogLine[]): Record<string, unknown> {
  const line = logs.find((log) => log.text.includes('"event":"batch"'));

  return JSON.parse(line!.text) as Record<string, unknown>;
}

describe('the Event Hub batch handler', () => {
  const allowlist = new StaticAllowlist([
    { inviter: 'alice.morgan@fabrikam.example', allowedDomains: ['partner.example'] },
  ]);

  it('flattens a batch of messages as the host delivers them (objects, strings, bytes) and alerts once per unapproved invitation', async () => {
    const body = fixture('streams/sample-eventhub-batch.json') as {
      records: Record<string, any>[];
    };
    const copy = (suffix: string) => ({
      records: body.records.map((record) => ({
        ...record,
        properties: { ...record.properties, id: `${String(record.properties.id)}${suffix}` },
      })),
    });
    const batch = [body, JSON.stringify(copy('-b')), Buffer.from(JSON.stringify(copy('-c')))];
    const sink = new RecordingSink();
    const logs: LogLine[] = [];

    await createBatchHandler({ allowlist, sink })(batch, testContext(logs, batch.length));

    expect(sink.sent.map((alert) => alert.inviter.userPrincipalName)).toEqual([
      'malice.morgan@fabrikam.example',
      'malice.morgan@fabrikam.example',
      'malice.morgan@fabrikam.example',
    ]);
    expect(summaryOf(logs)).toMatchObject({
      event: 'batch',
      invocationId: 'inv-0001',
      messages: 3,
      records: 15,
      invitations: 6,
      approved: 3,
      alerts: 3,
      unreadable: 0,
      ignored: 3,
    });
  });

  it('alerts once for a record that comes twice in one batch', async () => {
    const body = fixture('streams/sample-eventhub-batch.json');
    const sink = new RecordingSink();
    const logs: LogLine[] = [];

    await createBatchHandler({ allowlist, sink })([body, body], testContext(logs, 2));

    expect(sink.sent).toHaveLength(1);
    expect(summaryOf(logs)).toMatchObject({ invitations: 4, approved: 2, alerts: 1 });
  });

  it('skips broken messages and records, logs where they were, and still alerts on the rest', async () => {
    const records = sampleRecords();
    const batch = ['{"records": [', { records: [42, records[3]] }, { unexpected: true }];
    const sink = new RecordingSink();
    const logs: LogLine[] = [];

    await createBatchHandler({ allowlist, sink })(batch, testContext(logs, batch.length));

    expect(sink.sent).toHaveLength(1);
    expect(summaryOf(logs)).toMatchObject({ records: 4, invitations: 1, alerts: 1, unreadable: 3 });
    const warnings = logs.filter((log) => log.level === 'warning').map((log) => log.text);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Unreadable audit record skipped at message 0 \(sequence 1000\): the message is not JSON/,
        ),
        'Unreadable audit record skipped at message 1 (sequence 1001), record 0: expected a JSON object, got a number',
        expect.stringMatching(
          /^Unreadable audit record skipped at message 2 \(sequence 1002\): not an Entra audit record/,
        ),
      ]),
    );
  });

  it('logs each alert with rule id, record id, inviter and outcome', async () => {
    const logs: LogLine[] = [];

    await createBatchHandler({ allowlist, sink: new RecordingSink() })(
      [fixture('streams/sample-eventhub-batch.json')],
      testContext(logs, 1),
    );

    const alertLog = logs.find((log) => log.text.includes('"event":"alert"'));
    expect(JSON.parse(alertLog!.text)).toMatchObject({
      ruleId: 'gid-0001-guest-invited-by-unapproved-inviter',
      auditId: 'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487',
      reason: 'not-approved',
      inviter: 'malice.morgan@fabrikam.example',
    });
  });

  it('does not throw on an empty batch or a batch of nonsense', async () => {
    const logs: LogLine[] = [];
    const handler = createBatchHandler({ allowlist, sink: new RecordingSink() });

    await expect(handler([], testContext(logs, 0))).resolves.toBeUndefined();
    await expect(handler([null, 1, 'x', [], {}], testContext(logs, 5))).resolves.toBeUndefined();
  });
});
