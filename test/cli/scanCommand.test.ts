import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { scanCommand } from '../../lib/cli/scanCommand';
import { fixturePath, sampleRecords } from '../support/fixtures';
import { runCommand } from '../support/cliRun';
import { startWebhookReceiver } from '../support/webhookReceiver';

const ALLOWLIST = fixturePath('streams/sample-allowlist.json');
const BATCH = fixturePath('streams/sample-eventhub-batch.json');
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
