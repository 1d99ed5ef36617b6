import type { Timer } from '@azure/functions';
import { odata, type TableClient } from '@azure/data-tables';

import { createInvitersRuntime } from '../../lib/adminApi/createInvitersRuntime';
import { matchInvitersRoute, routeHandler } from '../../lib/adminApi/invitersRoutes';
import { destinationKey } from '../../lib/alertOutbox';
import {
  createDetectorRuntime,
  emptyRedeliveryReport,
  type DetectorRuntime,
} from '../../lib/detectorRuntime';
import { parseDestinations } from '../../lib/destination';
import { createRedeliveryHandler } from '../../lib/redeliveryTimerHandler';
import { encodeTableKey } from '../../lib/tableKey';
import { createTableClient } from '../../lib/tableServiceClients';
import {
  entryPath,
  hostRequest,
  parseResponse,
  testContext,
  type LogLine,
  type SentResponse,
} from '../support/adminApiHarness';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';

const SECRET = `whsec_${Buffer.from('local-test-secret-of-32-bytes!!!').toString('base64')}`;
const INVITER = 'alice.morgan@fabrikam.example';
const CHANGED_AT = new Date('2026-06-01T12:00:00.000Z');
const TEAMS_PATH = '/teams';
const WEBHOOK_PATH = '/hook';
const tick: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: {} as never,
};

interface Deployment {
  putEntry(): Promise<SentResponse>;
  /** The redelivery timer of an instance whose clock reads `at`. */
  timerPass(at: Date, settings?: Record<string, string>): Promise<LogLine[]>;
  auditEntities(): Promise<Record<string, unknown>[]>;
  teamsKey: string;
  webhookKey: string;
}

/** The admin API and the redelivery timer wired from the same app settings, as in Azure. */
function deployment(receiver: FlakyReceiver): Deployment {
  const connectionString = testTablesConnectionString();
  const auditTable = uniqueTableName('audit');
  const env = {
    TABLES_CONNECTION_STRING: connectionString,
    ALLOWLIST_TABLE: uniqueTableName('allow'),
    ALLOWLIST_AUDIT_TABLE: auditTable,
    ALERT_OUTBOX_TABLE: uniqueTableName('outbox'),
    DEAD_LETTER_TABLE: uniqueTableName('dead'),
    TEAMS_WEBHOOK_URL: `${receiver.url(TEAMS_PATH)}?sig=teams-secret`,
    ALERT_WEBHOOK_URL: receiver.url(WEBHOOK_PATH),
    ALERT_WEBHOOK_SECRET: SECRET,
    ALERT_MAX_AGE_HOURS: '1',
    DELIVERY_MAX_ATTEMPTS: '1',
    WEBSITE_SITE_NAME: 'func-gid-test',
    WEBSITE_AUTH_ENABLED: 'True',
  };
  const { api } = createInvitersRuntime(env, { now: () => CHANGED_AT });
  const audit: TableClient = createTableClient(
    { kind: 'connection-string', connectionString },
    auditTable,
  );
  const [teams] = parseDestinations('TEAMS_WEBHOOK_URL', env.TEAMS_WEBHOOK_URL, 'teams');
  const [webhook] = parseDestinations('ALERT_WEBHOOK_URL', env.ALERT_WEBHOOK_URL, 'webhook');

  return {
    teamsKey: destinationKey(teams!),
    webhookKey: destinationKey(webhook!),
    putEntry: async () => {
      const path = entryPath(INVITER);
      const match = matchInvitersRoute(path);
      if (match === undefined) throw new Error(`no route for ${path}`);
      const request = hostRequest('PUT', path, { json: { allowedDomains: ['partner.example'] } });

      return parseResponse(await routeHandler(api, match.route)(request, testContext([])));
    },
    timerPass: async (at, settings = {}) => {
      const runtime: DetectorRuntime = createDetectorRuntime(
        { ...env, ...settings },
        { now: () => at },
      );
      const logs: LogLine[] = [];
      await createRedeliveryHandler(runtime)(tick, testContext(logs, 'redeliverAlerts'));

      return logs;
    },
    auditEntities: async () => {
      const entities: Record<string, unknown>[] = [];
      for await (const entity of audit.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${encodeTableKey(INVITER)}` },
      })) {
        entities.push(entity);
      }

      return entities;
    },
  };
}

function sentTo(receiver: FlakyReceiver, path: string) {
  return receiver.messages.filter((message) => message.path === path);
}

function acceptedOn(receiver: FlakyReceiver, path: string) {
  return sentTo(receiver, path).filter((message) => message.answer === 'accept');
}

function lastSummary(logs: LogLine[]): unknown {
  return JSON.parse(logs.filter((line) => line.message.includes('"redelivery"')).at(-1)!.message);
}

describe('change notices a destination did not take are retried by the redelivery timer', () => {
  let receiver: FlakyReceiver;

  beforeEach(async () => {
    receiver = await startFlakyReceiver((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('answers the change while Teams is down and records that the notice is owed to Teams', async () => {
    const app = deployment(receiver);

    const created = await app.putEntry();

    expect(created.status).toBe(201);
    expect(acceptedOn(receiver, WEBHOOK_PATH)).toHaveLength(1);
    const [entity] = await app.auditEntities();
    expect(entity).toMatchObject({
      action: 'create',
      noticePending: app.teamsKey,
      noticeAttempts: 1,
      noticeLastError: expect.stringMatching(/^Delivery to teams#1 failed after 1 attempt\(s\)/),
    });
    expect(JSON.stringify(entity)).not.toContain('127.0.0.1');
    expect(JSON.stringify(entity)).not.toContain('teams-secret');
  });

  it('delivers the notice exactly once after Teams recovers, and a second pass sends nothing', async () => {
    const app = deployment(receiver);
    await app.putEntry();
    receiver.setBehaviour(() => ({ kind: 'accept' }));

    const firstPass = await app.timerPass(new Date(CHANGED_AT.getTime() + 60_000));

    expect(acceptedOn(receiver, TEAMS_PATH)).toHaveLength(1);
    expect(acceptedOn(receiver, WEBHOOK_PATH)).toHaveLength(1);
    expect(lastSummary(firstPass)).toMatchObject({ event: 'redelivery', due: 0, notices: 1 });
    expect((await app.auditEntities())[0]).toMatchObject({
      noticePending: '',
      noticeAttempts: 2,
    });

    const sentBefore = receiver.messages.length;
    const secondPass = await app.timerPass(new Date(CHANGED_AT.getTime() + 120_000));

    expect(receiver.messages).toHaveLength(sentBefore);
    expect(lastSummary(secondPass)).toMatchObject({ event: 'redelivery', notices: 0 });
  });

  it('keeps owing the notice to Teams while it stays down, and does not send to the webhook again', async () => {
    const app = deployment(receiver);
    await app.putEntry();

    await app.timerPass(new Date(CHANGED_AT.getTime() + 60_000));

    expect(sentTo(receiver, WEBHOOK_PATH)).toHaveLength(1);
    expect(sentTo(receiver, TEAMS_PATH).length).toBeGreaterThanOrEqual(2);
    expect((await app.auditEntities())[0]).toMatchObject({
      noticePending: app.teamsKey,
      noticeAttempts: 2,
    });
  });

  it('asks a destination that fails only once per pass, however many notices it owes', async () => {
    const app = deployment(receiver);
    await app.putEntry();
    await app.putEntry();
    const teamsBefore = sentTo(receiver, TEAMS_PATH).length;

    await app.timerPass(new Date(CHANGED_AT.getTime() + 60_000));

    expect(sentTo(receiver, TEAMS_PATH).length - teamsBefore).toBe(1);
    expect((await app.auditEntities()).map((entity) => entity.noticePending)).toEqual([
      app.teamsKey,
      app.teamsKey,
    ]);
  });

  it('gives up on a notice older than the alert age limit, with an error log, and sends nothing', async () => {
    const app = deployment(receiver);
    await app.putEntry();
    const [entity] = await app.auditEntities();
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    const sentBefore = receiver.messages.length;

    const logs = await app.timerPass(new Date(CHANGED_AT.getTime() + 3_600_001));

    expect(receiver.messages).toHaveLength(sentBefore);
    const errors = logs.filter((line) => line.level === 'error').map((line) => line.message);
    expect(errors.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        event: 'notice-expired',
        auditRecord: entity?.rowKey,
        inviter: INVITER,
        action: 'create',
        changedAt: CHANGED_AT.toISOString(),
        pending: [app.teamsKey],
        attempts: 1,
      },
    ]);
    expect((await app.auditEntities())[0]).toMatchObject({ noticePending: '' });
  });

  it('drops a destination that is no longer configured from what the notice owes, with a warning', async () => {
    const app = deployment(receiver);
    await app.putEntry();
    const sentBefore = receiver.messages.length;

    const logs = await app.timerPass(new Date(CHANGED_AT.getTime() + 60_000), {
      TEAMS_WEBHOOK_URL: '',
    });

    expect(receiver.messages).toHaveLength(sentBefore);
    expect(logs.filter((line) => line.level === 'warning').map((line) => line.message)).toEqual([
      expect.stringContaining(`is no longer sent to ${app.teamsKey}`),
    ]);
    expect((await app.auditEntities())[0]).toMatchObject({ noticePending: '' });
  });
});

describe('the redelivery timer before the admin API has made any change', () => {
  it('finds no notice owed when the audit table does not exist yet, and logs no error', async () => {
    const receiver = await startFlakyReceiver();
    try {
      const logs = await deployment(receiver).timerPass(CHANGED_AT);

      expect(logs.filter((line) => line.level === 'error')).toEqual([]);
      expect(lastSummary(logs)).toMatchObject({ event: 'redelivery', due: 0, notices: 0 });
    } finally {
      await receiver.close();
    }
  });
});

describe('the redelivery timer with a failing notice pass', () => {
  it('logs the notice failure and still completes the alert pass', async () => {
    const logs: LogLine[] = [];
    const runtime = {
      redeliver: () => Promise.resolve({ ...emptyRedeliveryReport(), due: 2, delivered: 2 }),
      retryChangeNotices: () =>
        Promise.reject(new Error('Table AllowlistAudit could not be listed: HTTP 503')),
    };

    await createRedeliveryHandler(runtime)(tick, testContext(logs, 'redeliverAlerts'));

    expect(logs.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
      'Change notice pass failed; the next pass tries again: Table AllowlistAudit could not be listed: HTTP 503',
    ]);
    expect(lastSummary(logs)).toMatchObject({ event: 'redelivery', due: 2, delivered: 2 });
    expect(lastSummary(logs)).not.toHaveProperty('notices');
  });
});
