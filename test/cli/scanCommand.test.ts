import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { scanCommand } from '../../lib/cli/scanCommand';
import { fixturePath, sampleRecords } from '../support/fixtures';
import { runCommand } from '../support/cliRun';
import { startWebhookReceiver } from '../support/webhookReceiver';

const ALLOWLIST = fixturePath('streams/sample-allowlist.json');
const BATCH = fixturePath('streams/sample-eventhub-batch.json');
const BROKEN_FIRST_LINE = fixturePath('streams/export-broken-first-line.ndjson');
const DANA_INVITE = 'Invited Users_6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e_QF3RA_5511902';
const OMAR_INVITE = 'Invited Users_8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f1a_ZT8KW_5511977';
const MALICE_INVITE = 'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487';
const workDir = mkdtempSync(join(tmpdir(), 'scan-test-'));

function alertsOf(stdout: string): Record<string, any>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);
}

describe('npm run cli -- scan', () => {
  it('prints exactly one alert JSON per line with --format ndjson, and the summary on stderr', async () => {
    const result = await runCommand(scanCommand, [
      '--allowlist',
      ALLOWLIST,
      '--format',
      'ndjson',
      BATCH,
    ]);

    expect(result.code).toBe(0);
    const alerts = alertsOf(result.stdout);
    expect(alerts.map((alert) => [alert.inviter.userPrincipalName, alert.reason])).toEqual([
      ['malice.morgan@fabrikam.example', 'not-approved'],
    ]);
    expect(result.stderr).toContain(
      'scanned 5 records: 2 invitations, 1 approved, 1 alerts, 0 unreadable, 1 of other categories',
    );
  });

  it('says on stderr that the allowlist is empty when none is given and no storage is configured', async () => {
    const result = await runCommand(scanCommand, ['--format', 'ndjson', BATCH]);

    expect(alertsOf(result.stdout)).toHaveLength(2);
    expect(result.stderr).toContain('no Table Storage configured, so it is empty');
  });

  it('reads NDJSON exports, skipping a broken line with its file and line number', async () => {
    const file = fixturePath('streams/export-with-broken-line.ndjson');

    const result = await runCommand(scanCommand, [
      '--allowlist',
      ALLOWLIST,
      '--format',
      'ndjson',
      file,
    ]);

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`skipped ${file}:3: not JSON`);
    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([
      'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487',
    ]);
    expect(result.stderr).toContain(
      'scanned 7 records: 3 invitations, 1 approved, 1 alerts, 1 unreadable',
    );
  });

  it('reads standard input with "-", and pretty-printed JSON arrays from files', async () => {
    const pretty = join(workDir, 'pretty.json');
    writeFileSync(pretty, JSON.stringify(sampleRecords(), null, 2));
    const ndjson = sampleRecords()
      .map((record) => JSON.stringify(record))
      .join('\n');

    const fromStdin = await runCommand(scanCommand, ['--format', 'ndjson', '-'], { stdin: ndjson });
    const fromPretty = await runCommand(scanCommand, ['--format', 'ndjson', pretty]);

    expect(alertsOf(fromStdin.stdout)).toHaveLength(2);
    expect(alertsOf(fromPretty.stdout)).toHaveLength(2);
  });

  it('prints readable lines by default', async () => {
    const result = await runCommand(scanCommand, ['--allowlist', ALLOWLIST, BATCH]);

    expect(result.stdout).toBe(
      '[MEDIUM] 2026-11-18T10:02:51.987654+00:00 malice.morgan@fabrikam.example invited burner.account@mailbox.example (not-approved, result success) audit Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487\n',
    );
  });

  it('posts the alerts to a webhook given with --webhook', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const result = await runCommand(scanCommand, [
        '--allowlist',
        ALLOWLIST,
        '--webhook',
        receiver.url,
        BATCH,
      ]);

      expect(result.code).toBe(0);
      expect(receiver.requests.map((request) => JSON.parse(request.body).auditId)).toEqual([
        'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487',
      ]);
      expect(result.stderr).toContain('1 deliveries made, 0 failed');
    } finally {
      await receiver.close();
    }
  });

  it('still alerts on the valid lines of NDJSON whose first line is cut off, skipping line 1', async () => {
    const result = await runCommand(scanCommand, [
      '--allowlist',
      ALLOWLIST,
      '--format',
      'ndjson',
      BROKEN_FIRST_LINE,
    ]);

    expect(result.code).toBe(0);
    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([
      DANA_INVITE,
      OMAR_INVITE,
    ]);
    expect(result.stderr).toContain(
      `skipped ${BROKEN_FIRST_LINE}:1: not JSON (Unterminated string in JSON at position 247)\n`,
    );
    expect(result.stderr).toContain(
      'scanned 4 records: 2 invitations, 0 approved, 2 alerts, 1 unreadable, 1 of other categories',
    );
  });

  it('reads the same export from standard input, skipping its line 1 as stdin:1', async () => {
    const result = await runCommand(scanCommand, ['--format', 'ndjson', '-'], {
      stdin: readFileSync(BROKEN_FIRST_LINE, 'utf8'),
    });

    expect(result.code).toBe(0);
    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([
      DANA_INVITE,
      OMAR_INVITE,
    ]);
    expect(result.stderr).toContain(
      'skipped stdin:1: not JSON (Unterminated string in JSON at position 247)\n',
    );
  });

  it('reads pretty-printed JSON from standard input, as az rest prints a Graph list response', async () => {
    const result = await runCommand(scanCommand, ['--format', 'ndjson', '-'], {
      stdin: readFileSync(fixturePath('streams/graph-list-invitations.json'), 'utf8'),
    });

    expect(result.code).toBe(0);
    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([
      OMAR_INVITE,
      'Invited Users_1f2a3b4c-5d6e-4f7a-8b9c-0d1e2f3a4b5c_HN4PD_5512040',
    ]);
    expect(result.stderr).toContain(
      'scanned 2 records: 2 invitations, 0 approved, 2 alerts, 0 unreadable',
    );
  });

  it('reads a Log Analytics query API response, alerting on its invitation row', async () => {
    const result = await runCommand(scanCommand, [
      '--format',
      'ndjson',
      fixturePath('records/log-analytics-query-response.json'),
    ]);

    expect(result.code).toBe(0);
    expect(
      alertsOf(result.stdout).map((alert) => [
        alert.auditId,
        alert.inviter.userPrincipalName,
        alert.invitee.email,
      ]),
    ).toEqual([
      [
        'Invited Users_2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d_MV6TC_5512233',
        'priya.natarajan@fabrikam.example',
        'freight.ops@harbor-logistics.example',
      ],
    ]);
    expect(result.stderr).toContain(
      'scanned 2 records: 1 invitations, 0 approved, 1 alerts, 0 unreadable',
    );
  });

  it('alerts once for a record that two overlapping exports both hold, counting the repeat', async () => {
    const result = await runCommand(scanCommand, [
      '--allowlist',
      ALLOWLIST,
      '--format',
      'ndjson',
      BATCH,
      fixturePath('records/graph-directory-audit-invite.json'),
    ]);

    expect(result.code).toBe(0);
    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([MALICE_INVITE]);
    expect(result.stderr).toContain(
      'scanned 6 records: 3 invitations, 1 approved, 1 alerts, 0 unreadable, ' +
        '1 of other categories, 1 duplicates skipped\n',
    );
  });

  it('alerts once for a record repeated more than a chunk of records apart in one export', async () => {
    const [signIn, , , invitation] = sampleRecords();
    const lines = [invitation, ...Array.from({ length: 1200 }, () => signIn), invitation];
    const longExport = join(workDir, 'long-export.ndjson');
    writeFileSync(longExport, lines.map((record) => JSON.stringify(record)).join('\n'));

    const result = await runCommand(scanCommand, ['--format', 'ndjson', longExport]);

    expect(alertsOf(result.stdout).map((alert) => alert.auditId)).toEqual([MALICE_INVITE]);
    expect(result.stderr).toContain(
      'scanned 1202 records: 2 invitations, 0 approved, 1 alerts, 0 unreadable, ' +
        '1200 of other categories, 1 duplicates skipped\n',
    );
  });

  it('exits 2 for a file with no JSON in it, a CSV export, saying JSON or NDJSON was expected', async () => {
    const csv = fixturePath('streams/auditlogs-export.csv');

    const result = await runCommand(scanCommand, ['--format', 'ndjson', csv]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `error: ${csv}: none of its 3 lines is JSON (line 1: Unexpected token); ` +
        'expected a JSON document or NDJSON, one JSON value per line\n',
    );
    expect(result.stderr).not.toMatch(/^skipped /m);
  });

  it('exits 2 for an allowlist that names one inviter twice, naming both entries', async () => {
    const allowlist = fixturePath('streams/allowlist-duplicate-inviter.json');

    const result = await runCommand(scanCommand, ['--allowlist', allowlist, BATCH]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `error: ${allowlist}: invalid allowlist entries:\n` +
        '  entry 2: names the same inviter as entry 0 (alice.morgan@fabrikam.example); ' +
        'keep one entry per inviter\n',
    );
  });

  it.each([
    [['--format', 'xml', BATCH], '--format must be ndjson or text, not "xml"'],
    [[], 'name at least one FILE to scan, or - for standard input'],
    [['--bogus', BATCH], "Unknown option '--bogus'"],
    [['--webhook', 'http://hooks.example/x', BATCH], 'Setting --webhook must be an https URL'],
  ])('exits 2 for the usage error in %p', async (args, message) => {
    const result = await runCommand(scanCommand, args);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a missing file or a broken allowlist, saying what to fix', async () => {
    const badAllowlist = join(workDir, 'bad-allowlist.json');
    writeFileSync(
      badAllowlist,
      JSON.stringify([{ inviter: 'alice@contoso.com' }, { inviter: 'nobody' }]),
    );

    const missing = await runCommand(scanCommand, [join(workDir, 'nope.json')]);
    const broken = await runCommand(scanCommand, ['--allowlist', badAllowlist, BATCH]);

    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json: no such file');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(
      'entry 1: inviter: the inviter must be a user principal name (name@domain) or a GUID',
    );
  });
});
