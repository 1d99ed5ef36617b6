import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findFreePort } from '../../lib/azuriteProcess';
import { localPrincipal } from '../../lib/adminApi/localPrincipal';
import { allowlistCommand } from '../../lib/cli/allowlistCommand';
import { startLocalApp, type RunningLocalApp } from '../../lib/localMode/startLocalApp';
import { toEntity } from '../../lib/tableAllowlistStore';
import { createTableClient } from '../../lib/tableServiceClients';
import { runCommand } from '../support/cliRun';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';

const LENA = { inviter: 'lena.fischer@northwind.example', allowedDomains: ['partner.example'] };
const HR_APP = {
  inviter: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  expiresAt: '2099-12-31T00:00:00Z',
  note: 'HR onboarding app (service principal)',
};

async function localApp(allowlistTable = uniqueTableName('allow')): Promise<RunningLocalApp> {
  return startLocalApp({
    port: 0,
    env: {
      TABLES_CONNECTION_STRING: testTablesConnectionString(),
      ALLOWLIST_TABLE: allowlistTable,
      ALLOWLIST_AUDIT_TABLE: uniqueTableName('audit'),
    },
    log: () => undefined,
  });
}

function tempFile(name: string, content?: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'allowlist-cli-')), name);
  if (content !== undefined) {
    writeFileSync(path, JSON.stringify(content, null, 2));
  }

  return path;
}

describe('allowlist export and import through the admin API', () => {
  let app: RunningLocalApp;

  beforeEach(async () => {
    app = await localApp();
  });

  afterEach(async () => {
    await app.stop();
  });

  it('imports each entry, reports the bad ones and goes on, then exports what was stored', async () => {
    const file = tempFile('allowlist.json', [
      LENA,
      { inviter: 'old.partner@northwind.example', expiresAt: '2020-01-01T00:00:00Z' },
      { inviter: 'kai.olsen@northwind.example', allowedDomains: ['not a domain'] },
      { inviter: 'ana.silva@northwind.example', allowedDomains: ['a.example', 'A.example'] },
      HR_APP,
    ]);

    const imported = await runCommand(allowlistCommand, ['import', file, '--url', app.url]);
    const exported = await runCommand(allowlistCommand, ['export', '-', '--url', app.url]);

    expect(imported.code).toBe(1);
    expect(imported.stderr.split('\n')).toEqual([
      'entry 0 (lena.fischer@northwind.example): created',
      'entry 1 (old.partner@northwind.example): skipped, it expired at 2020-01-01T00:00:00Z',
      'entry 2: allowedDomains.0: must be a domain name such as partner.example (IDNs in punycode)',
      'entry 3 (ana.silva@northwind.example): HTTP 400: The allowlist entry in the body is not ' +
        'valid: allowedDomains.1: lists a.example a second time',
      `entry 4 (${HR_APP.inviter}): created`,
      'imported 2, skipped 1 (expired), failed 2',
      '',
    ]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual([HR_APP, LENA]);
    expect(exported.stderr).toBe('exported 2 allowlist entries\n');
  });

  it('exports what it can, names each stored entity it cannot, and exits 1 saying the backup is incomplete', async () => {
    const table = uniqueTableName('allow');
    const damaged = await localApp(table);
    const backup = tempFile('backup.json');
    try {
      await runCommand(allowlistCommand, [
        'import',
        tempFile('in.json', [LENA]),
        '--url',
        damaged.url,
      ]);
      // A hand edit in the portal: an entity the API lists under problems, not as an entry.
      const client = createTableClient(
        { kind: 'connection-string', connectionString: testTablesConnectionString() },
        table,
      );
      await client.createEntity({
        ...toEntity({ inviter: 'kai.olsen@northwind.example' }, {}),
        allowedDomains: '["not a domain"]',
      });

      const result = await runCommand(allowlistCommand, ['export', backup, '--url', damaged.url]);

      expect(result.code).toBe(1);
      expect(JSON.parse(readFileSync(backup, 'utf8'))).toEqual([LENA]);
      expect(result.stderr.split('\n')).toEqual([
        'not exported: allowlist entity "kai.olsen@northwind.example": allowedDomains.0: must be ' +
          'a domain name such as partner.example (IDNs in punycode)',
        `exported 1 allowlist entries to ${backup}`,
        'error: the backup is incomplete: 1 stored entity (above) is not a valid allowlist entry, ' +
          'so it was not exported. It approves nothing; replace it with PUT, or remove it with ' +
          'DELETE, through the API, then export again.',
        '',
      ]);
    } finally {
      await damaged.stop();
    }
  });

  it('records the CLI caller, or the --as user, as who made the change', async () => {
    const file = tempFile('allowlist.json', [LENA]);

    await runCommand(allowlistCommand, ['import', file, '--url', app.url]);
    await runCommand(allowlistCommand, [
      'import',
      file,
      '--url',
      app.url,
      '--as',
      'priya.raman@northwind.example',
    ]);
    const history = await fetch(
      `${app.url}/api/inviters/${encodeURIComponent(LENA.inviter)}/history`,
      { headers: { 'x-ms-client-principal': localPrincipal('auditor@northwind.example') } },
    );
    const body = (await history.json()) as { value: { action: string; changedBy: string }[] };

    expect(body.value.map((record) => [record.action, record.changedBy])).toEqual([
      ['update', 'priya.raman@northwind.example'],
      ['create', 'allowlist-cli@localhost'],
    ]);
  });

  it('writes an export file that imports into another app unchanged', async () => {
    const source = tempFile('source.json', [LENA, HR_APP]);
    const backup = tempFile('backup.json');
    await runCommand(allowlistCommand, ['import', source, '--url', app.url]);

    const exported = await runCommand(allowlistCommand, ['export', backup, '--url', app.url]);
    const other = await localApp();
    try {
      const restored = await runCommand(allowlistCommand, ['import', backup, '--url', other.url]);
      const again = await runCommand(allowlistCommand, ['export', '-', '--url', other.url]);

      expect(exported.code).toBe(0);
      expect(restored.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual(JSON.parse(readFileSync(backup, 'utf8')));
    } finally {
      await other.stop();
    }
  });

  it('stops with the API refusal when the caller may not change the allowlist', async () => {
    const file = tempFile('allowlist.json', [LENA]);
    const reader = localPrincipal('owen.hart@northwind.example', ['Inviters.Read']);

    const result = await runCommand(allowlistCommand, [
      'import',
      file,
      '--url',
      app.url,
      '--principal',
      reader,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: PUT ${app.url}/api/inviters/lena.fischer%40northwind.example failed (HTTP 403): ` +
        'The caller lacks the app role this request needs: owen.hart@northwind.example does not ' +
        'have the app role Inviters.ReadWrite',
    );
    expect(result.stderr).not.toContain(reader);
  });

  it('says when nothing answers at the URL', async () => {
    const port = await findFreePort();

    const result = await runCommand(allowlistCommand, [
      'export',
      '-',
      '--url',
      `http://127.0.0.1:${port}`,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: GET http://127.0.0.1:${port}/api/inviters failed: no answer (ECONNREFUSED); ` +
        `is the app running at http://127.0.0.1:${port}?\n`,
    );
  });

  it.each([
    [[], 'give "export FILE" or "import FILE"'],
    [['copy', 'x.json'], 'give "export FILE" or "import FILE"'],
    [
      ['import', 'x.json', '--as', 'a@b.example', '--principal', 'e30='],
      'give --as or --principal, not both',
    ],
    [['export', '-', '--url', 'not a url'], '--url is not a URL: not a url'],
  ])('refuses %j with exit status 2', async (args, message) => {
    const result = await runCommand(allowlistCommand, args);

    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`error: ${message}`);
  });

  it('refuses a file that is not a JSON array of entries', async () => {
    const file = tempFile('allowlist.json', { inviter: LENA.inviter });

    const result = await runCommand(allowlistCommand, ['import', file, '--url', app.url]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: ${file}: the allowlist must be a JSON array of entries like {"inviter": "alice@contoso.com"}\n`,
    );
  });
});
