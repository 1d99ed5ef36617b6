import { TableClient } from '@azure/data-tables';

import type { Alert } from '../../lib/alert';
import { AlertOutbox } from '../../lib/alertOutbox';
import { CircuitBreaker } from '../../lib/circuitBreaker';
import { DEFAULT_DELIVERY_OPTIONS } from '../../lib/deliverNotification';
import { parseDestinations } from '../../lib/destination';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import { OutboxAlertSink } from '../../lib/outboxAlertSink';
import { OutboxDeliverer } from '../../lib/outboxDeliverer';
import { createTableClient } from '../../lib/tableServiceClients';
import { TeamsRateLimiter } from '../../lib/teamsRateLimiter';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  allowlist,
  batchContext,
  batchSummaries,
  invitationMessages,
  newDeploymentTables,
  once,
  requestsTo,
  TEAMS_PATH,
  WEBHOOK_PATH,
  type LogLine,
  unapprovedAlert,
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

function alertFor(key: string): Alert {
  return unapprovedAlert(key, 850, at);
}

describe('what Table Storage refuses', () => {
  it('stores an alert holding U+FFFE and U+FFFF as valid JSON that reads back to the same alert', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const client = createTableClient(
      { kind: 'connection-string', connectionString: tables.connectionString },
      tables.outboxTable,
    );
    const outbox = new AlertOutbox(client);
    const base = alertFor('noncharacters');
    const alert: Alert = {
      ...base,
      inviter: { ...base.inviter, displayName: 'Mallory \ufffe\uffff Example' },
      resultReason: '\uffff',
    };
    const [destination] = parseDestinations('ALERT_WEBHOOK_URL', receiver.url('/w'), 'webhook');

    await outbox.claim(alert, [destination!], at, new Date(at.getTime() + 60_000));

    const stored = await TableClient.fromConnectionString(
      tables.connectionString,
      tables.outboxTable,
      { allowInsecureConnection: true },
    ).getEntity<{ alertJson: string }>(alert.alertId, 'alert');
    expect(stored.alertJson).not.toMatch(/[\ufffe\uffff]/);
    expect(stored.alertJson).toContain('Mallory \\ufffe\\uffff Example');
    expect(await outbox.readAlert(alert.alertId)).toEqual(alert);
  });

  it('sends an alert whose claim storage refuses (HTTP 400) once right away, logs it by id, and does not fail the batch', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('refused', 2, at);
    const client = createTableClient(
      { kind: 'connection-string', connectionString: tables.connectionString },
      tables.outboxTable,
    );
    const outbox = new AlertOutbox(client);
    const [webhook] = parseDestinations('ALERT_WEBHOOK_URL', receiver.url(WEBHOOK_PATH), 'webhook');
    // Settings refuse a URL listed twice; built by hand, its two delivery rows share a key,
    // which is the invalid transaction (400 InvalidDuplicateRow) the service answers.
    const destinations = [
      ...parseDestinations('TEAMS_WEBHOOK_URL', receiver.url(TEAMS_PATH), 'teams'),
      webhook!,
      { ...webhook!, label: 'webhook#2' },
    ];
    const deliverer = new OutboxDeliverer({
      outbox,
      delivery: { ...DEFAULT_DELIVERY_OPTIONS, timeoutMs: 300, maxAttempts: 2, baseDelayMs: 5 },
      breaker: new CircuitBreaker({ failureThreshold: 5, cooldownMs: 60_000 }),
      teamsLimiter: new TeamsRateLimiter({ requestsPerSecond: 3 }),
      teamsDigestThreshold: 5,
      leaseMs: 60_000,
    });
    const handler = createBatchHandler({
      allowlist,
      sink: new OutboxAlertSink({ outbox, deliverer, destinations, leaseMs: 60_000 }),
    });
    const logs: LogLine[] = [];

    await handler(batch.messages, batchContext({ logs, messages: 2 }));

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once(batch.auditIds));
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(4);
    expect(batchSummaries(logs)[0]).toMatchObject({
      alerts: 2,
      alertsUnstored: 2,
      storageFailed: false,
    });
    const unstored = logs
      .filter((line) => line.level === 'error' && line.text.startsWith('{"event":"alert-unstored"'))
      .map((line) => JSON.parse(line.text) as Record<string, unknown> & { alert: Alert });
    expect(unstored).toHaveLength(2);
    for (const line of unstored) {
      expect(line).toMatchObject({
        cause: 'storage-refused',
        finalAttempt: false,
        alertId: line.alert.alertId,
        sentTo: ['teams#1', 'webhook#1', 'webhook#2'],
        notSentTo: [],
        problem: `Table ${tables.outboxTable} refused alert ${line.alert.alertId}: HTTP 400 (InvalidDuplicateRow)`,
      });
    }
    expect(JSON.stringify(logs)).not.toContain('127.0.0.1');
  });
});
