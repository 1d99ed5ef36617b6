import { TableClient } from '@azure/data-tables';

import { replayCommand } from '../../lib/cli/replayCommand';
import { eventHubMessage, invitationRecord, inviterNumber } from '../support/auditStream';
import { runCommand } from '../support/cliRun';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  deliveryRows,
  detectorInstance,
  FAST_DELIVERY,
  newDeploymentTables,
  once,
  TEAMS_PATH,
  WEBHOOK_PATH,
  type DeploymentTables,
} from '../support/reliabilityHarness';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';

const at = new Date('2026-11-18T10:00:00Z');

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function cliEnv(tables: DeploymentTables): NodeJS.ProcessEnv {
  return {
    TABLES_CONNECTION_STRING: tables.connectionString,
    ALLOWLIST_TABLE: uniqueTableName('Allowlist'),
    ALERT_OUTBOX_TABLE: tables.outboxTable,
    DEAD_LETTER_TABLE: tables.deadLetterTable,
    TEAMS_WEBHOOK_URL: receiver.url(TEAMS_PATH),
    ALERT_WEBHOOK_URL: receiver.url(WEBHOOK_PATH),
  };
}

function invitation(key: string) {
  return invitationRecord(key, inviterNumber(900), at) as { properties: { id: string } };
}

describe('npm run cli -- replay', () => {
  it('replays a corrected dead-lettered record once, and leaves one that is still unreadable', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const fixed = invitation('replay-fixed');
    const broken = { ...fixed, properties: 'lost in transit' };
    const instance = detectorInstance(tables, receiver);
    await batchHandlerFor(instance)(
      [eventHubMessage([broken, 42])],
      batchContext({ logs: [], messages: 1 }),
    );
    const client = TableClient.fromConnectionString(
      tables.connectionString,
      tables.deadLetterTable,
      {
        allowInsecureConnection: true,
      },
    );
    const [toFix] = (await instance.deadLetters!.list('record', 10)).filter((letter) =>
      letter.where.endsWith('record 0'),
    );
    await client.updateEntity(
      { partitionKey: 'record', rowKey: toFix!.id, rawText: JSON.stringify(fixed) },
      'Merge',
    );

    const dryRun = await runCommand(replayCommand, ['records', '--dry-run'], {
      env: cliEnv(tables),
    });
    expect(receiver.messages).toHaveLength(0);
    const replay = await runCommand(replayCommand, ['records'], { env: cliEnv(tables) });
    const again = await runCommand(replayCommand, ['records'], { env: cliEnv(tables) });

    expect(dryRun).toMatchObject({ code: 0 });
    expect(dryRun.stdout).toContain(
      'dry run: 2 dead-lettered record(s): would replay 1, 1 still unreadable, 0 cut too short to replay; 1 alert(s)',
    );
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(
      '2 dead-lettered record(s): replayed 1, 1 still unreadable, 0 cut too short to replay; 1 alert(s)',
    );
    expect(replay.stderr).toContain(
      'still unreadable message 0 (sequence 1000), record 1: expected a JSON object, got a number',
    );
    expect(again.stdout).toContain('1 dead-lettered record(s): replayed 0, 1 still unreadable');
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once([fixed.properties.id]));
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once([fixed.properties.id]));
  });

  it('reopens alerts that expired undelivered and delivers them', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const record = invitation('replay-expired');
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 503 } : { kind: 'accept' },
    );
    let clock = at.getTime();
    const instance = detectorInstance(tables, receiver, {}, { now: () => new Date(clock) });
    await batchHandlerFor(instance)(
      [eventHubMessage([record])],
      batchContext({ logs: [], messages: 1 }),
    );
    clock += 25 * 3_600_000;
    expect((await instance.redeliver()).expired).toHaveLength(1);
    receiver.setBehaviour(() => ({ kind: 'accept' }));

    const replay = await runCommand(replayCommand, ['alerts'], { env: cliEnv(tables) });

    expect(replay.stdout).toBe(
      'reopened 1 alert(s); redelivering...\n' +
        'redelivery: 1 due, 1 delivered, 0 failed (still pending), 0 postponed, 0 expired\n',
    );
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once([record.properties.id]));
    const [letter] = await instance.deadLetters!.list('alert', 10, true);
    expect(letter!.replayedAt).not.toBe('');
  });

  it('sends pending alerts now rather than after their backoff', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const record = invitation('replay-pending');
    receiver.setBehaviour((message) =>
      message.path === WEBHOOK_PATH ? { kind: 'fail', status: 500 } : { kind: 'accept' },
    );
    const instance = detectorInstance(
      tables,
      receiver,
      {},
      {
        ...FAST_DELIVERY,
        retryDelayMs: () => 3_600_000,
      },
    );
    await batchHandlerFor(instance)(
      [eventHubMessage([record])],
      batchContext({ logs: [], messages: 1 }),
    );
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    expect(await instance.redeliver()).toMatchObject({ due: 0 });

    const replay = await runCommand(replayCommand, ['pending'], { env: cliEnv(tables) });

    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('redelivery: 1 due, 1 delivered');
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once([record.properties.id]));
    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once([record.properties.id]));
  });

  it('moves pending alerts of a regenerated Teams Workflows URL to the new one with --retarget, and delivers them once', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const record = invitation('replay-retarget');
    // The old Workflows URL answers 401 once its signature was regenerated.
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 401 } : { kind: 'accept' },
    );
    const instance = detectorInstance(tables, receiver);
    await batchHandlerFor(instance)(
      [eventHubMessage([record])],
      batchContext({ logs: [], messages: 1 }),
    );
    receiver.setBehaviour(() => ({ kind: 'accept' }));
    const env = { ...cliEnv(tables), TEAMS_WEBHOOK_URL: receiver.url('/teams-regenerated') };

    const dryRun = await runCommand(replayCommand, ['pending', '--retarget', '--dry-run'], { env });
    const replay = await runCommand(replayCommand, ['pending', '--retarget'], { env });

    expect(dryRun.stdout).toContain(
      'would move alert ' +
        (await deliveryRows(tables)).find((row) => row.destination === 'teams#1')!.partitionKey +
        ' from teams#1 (a URL no longer configured) to teams#1',
    );
    expect(receiver.acknowledged('/teams-regenerated')).toEqual(once([record.properties.id]));
    expect(replay).toMatchObject({ code: 0 });
    expect(replay.stdout).toContain('retargeted 1 pending delivery(ies)\n');
    expect(replay.stdout).toContain('redelivery: 1 due, 1 delivered');
    const rows = await deliveryRows(tables);
    expect(rows.map((row) => [row.destination, row.status]).sort()).toEqual([
      ['teams#1', 'delivered'],
      ['teams#1', 'retargeted'],
      ['webhook#1', 'delivered'],
    ]);
    expect(replay.stdout + replay.stderr).not.toContain('127.0.0.1');
    expect(receiver.acknowledged(TEAMS_PATH).size).toBe(0);
  });

  it('refuses --retarget when no single URL of that kind is configured, says why and changes nothing', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const record = invitation('replay-retarget-unclear');
    receiver.setBehaviour((message) =>
      message.path === TEAMS_PATH ? { kind: 'fail', status: 403 } : { kind: 'accept' },
    );
    await batchHandlerFor(detectorInstance(tables, receiver))(
      [eventHubMessage([record])],
      batchContext({ logs: [], messages: 1 }),
    );
    const before = await deliveryRows(tables);
    const env = {
      ...cliEnv(tables),
      TEAMS_WEBHOOK_URL: `${receiver.url('/teams-a')} ${receiver.url('/teams-b')}`,
    };

    const replay = await runCommand(replayCommand, ['pending', '--retarget'], { env });
    const withoutTeams = await runCommand(replayCommand, ['pending', '--retarget'], {
      env: { ...env, TEAMS_WEBHOOK_URL: '' },
    });

    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain(
      'error: cannot retarget pending teams alerts: TEAMS_WEBHOOK_URL configures 2 teams URLs (teams#1, teams#2), so which one replaced theirs is unclear; run it with only that URL configured',
    );
    expect(withoutTeams.code).toBe(2);
    expect(withoutTeams.stderr).toContain(
      'error: cannot retarget pending teams alerts: TEAMS_WEBHOOK_URL configures no teams URL to move them to',
    );
    expect(replay.stderr + withoutTeams.stderr).not.toContain('127.0.0.1');
    expect(await deliveryRows(tables)).toEqual(before);
    expect(receiver.messages.filter((message) => message.path !== TEAMS_PATH)).toHaveLength(1);
  });

  it('says what is wrong with its arguments or settings', async () => {
    expect(await runCommand(replayCommand, ['everything'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        'error: say what to replay: records, alerts or pending',
      ) as string,
    });
    expect(await runCommand(replayCommand, ['records', '--retarget'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('error: --retarget goes with replay pending only') as string,
    });
    expect(await runCommand(replayCommand, ['records'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        'error: set TABLES_CONNECTION_STRING or TABLES_ENDPOINT: replay reads tables',
      ) as string,
    });
  });
});
