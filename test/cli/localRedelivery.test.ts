import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DeadLetterStore } from '../../lib/deadLetterStore';
import { startLocalApp, type RunningLocalApp } from '../../lib/localMode/startLocalApp';
import { createTableClient } from '../../lib/tableServiceClients';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';
import { waitFor } from '../support/waitFor';

const BATCH = JSON.parse(
  readFileSync(
    join(__dirname, '..', 'fixtures', 'adminApi', 'eventhub-batch-after-revocation.json'),
    'utf8',
  ),
) as { records: unknown[] };
const AUDIT_ID = 'Invited Users_a3b4c5d6-e7f8-4091-a2b3-c4d5e6f7a8b9_RT6YU_8801544';

describe('local mode, as the Event Hub function and the redelivery timer run in Azure', () => {
  let receiver: FlakyReceiver;
  let app: RunningLocalApp | undefined;
  const lines: string[] = [];
  const deadLetterTable = uniqueTableName('localdead');

  beforeAll(async () => {
    receiver = await startFlakyReceiver(() => ({ kind: 'fail', status: 503 }));
    app = await startLocalApp({
      port: 0,
      env: {
        TABLES_CONNECTION_STRING: testTablesConnectionString(),
        ALLOWLIST_TABLE: uniqueTableName('localallow'),
        ALLOWLIST_AUDIT_TABLE: uniqueTableName('localaudit'),
        ALERT_OUTBOX_TABLE: uniqueTableName('localoutbox'),
        DEAD_LETTER_TABLE: deadLetterTable,
        ALERT_WEBHOOK_URL: receiver.url('/alerts'),
        LOCAL_REDELIVERY_INTERVAL_SECONDS: '1',
      },
      log: (line) => lines.push(line),
      // Redelivery waits a minute after a failure by default; the test cannot.
      runtime: { retryDelayMs: () => 100 },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await receiver.close();
  });

  it('keeps an alert the webhook refused, redelivers it once the webhook is back, and dead-letters what it cannot read', async () => {
    const body = { records: [...BATCH.records, '{"records": [ not json', 42] };

    const response = await fetch(`${app!.url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const summary = (await response.json()) as Record<string, number>;

    expect(response.status).toBe(200);
    expect(summary).toMatchObject({
      invitations: 1,
      alerts: 1,
      delivered: 0,
      pendingInOutbox: 1,
      unreadable: 2,
      deadLettered: 2,
    });
    const refusedBeforeRecovery = receiver.messages.length;
    expect(refusedBeforeRecovery).toBeGreaterThan(0);
    expect(receiver.acknowledged('/alerts').size).toBe(0);

    receiver.setBehaviour(() => ({ kind: 'accept' }));
    await waitFor(
      () => receiver.acknowledged('/alerts').size === 1,
      15_000,
      () => lines.join('\n'),
    );
    // Another pass or two must not send it again.
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    expect([...receiver.acknowledged('/alerts')]).toEqual([[AUDIT_ID, 1]]);
    expect(
      lines.some((line) => line.includes('redeliverAlerts') && line.includes('"delivered":1')),
    ).toBe(true);

    const letters = await new DeadLetterStore(
      createTableClient(
        { kind: 'connection-string', connectionString: testTablesConnectionString() },
        deadLetterTable,
      ),
    ).list('record', 10);
    expect(letters).toHaveLength(2);
  }, 30_000);
});
