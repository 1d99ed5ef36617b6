import { PassThrough } from 'node:stream';

import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from '../../lib/cli/cliIo';
import { runCli } from '../../lib/cli/main';
import {
  createSendTestEventCommand,
  type EventHubTarget,
  type InvitationSender,
} from '../../lib/cli/sendTestEventCommand';
import { SYNTHETIC_MARKER, type SyntheticInvitationBody } from '../../lib/syntheticInvitation';

interface CapturedStreams {
  stdout: string;
  stderr: string;
}

interface SentMessage {
  target: EventHubTarget;
  body: SyntheticInvitationBody;
}

/** Runs the command with captured streams and a sender that records instead of sending. */
async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  send?: InvitationSender,
): Promise<CapturedStreams & { code: number; sent: SentMessage[] }> {
  const sent: SentMessage[] = [];
  const recordingSender: InvitationSender = (target, body) => {
    sent.push({ target, body });

    return Promise.resolve();
  };
  const io = captureIo(env);
  const code = await createSendTestEventCommand(send ?? recordingSender)(args, io.io);

  return { code, ...io.read(), sent };
}

function captureIo(env: NodeJS.ProcessEnv): { io: CliIo; read: () => CapturedStreams } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));

  return {
    io: { stdin: new PassThrough(), stdout, stderr, env },
    read: () => ({
      stdout: Buffer.concat(chunks.stdout).toString('utf8'),
      stderr: Buffer.concat(chunks.stderr).toString('utf8'),
    }),
  };
}

const NAMESPACE = 'evhns-dev-abc123.servicebus.windows.net';

describe('send-test-event', () => {
  describe('usage errors exit 2 and say what to fix', () => {
    it.each([
      ['no namespace anywhere', ['--hub', 'entra-audit-logs'], {}, /missing --namespace/],
      ['no hub anywhere', ['--namespace', NAMESPACE], {}, /missing --hub/],
      [
        'a namespace given as a URL',
        ['--namespace', `sb://${NAMESPACE}/`, '--hub', 'entra-audit-logs'],
        {},
        /--namespace "sb:\/\/.*" is not a host name: pass it without scheme/,
      ],
      [
        'a bare namespace name without its domain',
        ['--namespace', 'evhns-dev-abc123', '--hub', 'entra-audit-logs'],
        {},
        /is not a host name/,
      ],
      [
        'an invalid hub name',
        ['--namespace', NAMESPACE, '--hub', 'audit logs!'],
        {},
        /--hub "audit logs!" is not an event hub name/,
      ],
      ['a tenant id that is not a GUID', ['--dry-run', '--tenant-id', 'contoso'], {}, /a GUID/],
      ['an inviter without a domain', ['--dry-run', '--inviter', 'avery'], {}, /--inviter/],
      ['an invitee without a domain', ['--dry-run', '--invitee', 'rowan@'], {}, /--invitee/],
      ['an unknown option', ['--dry-run', '--verbose'], {}, /Unknown option '--verbose'/],
      ['an option without its value', ['--dry-run', '--inviter'], {}, /--inviter/],
      ['a stray argument', ['--dry-run', 'now'], {}, /now/],
    ])('for %s', async (_case, args, env, message) => {
      const result = await run(args, env);

      expect(result.code).toBe(EXIT_USAGE);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('Usage: npm run cli -- send-test-event');
      expect(result.stdout).toBe('');
      expect(result.sent).toEqual([]);
    });
  });

  it('prints the message body and sends nothing with --dry-run', async () => {
    const result = await run(['--dry-run', '--inviter', 'avery.quinn@contoso.example']);

    expect(result.code).toBe(EXIT_OK);
    expect(result.sent).toEqual([]);
    const body = JSON.parse(result.stdout) as SyntheticInvitationBody;
    expect(body.records).toHaveLength(1);
    expect(body.records[0].properties.initiatedBy.user.userPrincipalName).toBe(
      'avery.quinn@contoso.example',
    );
    expect(body.records[0].properties.additionalDetails).toContainEqual(SYNTHETIC_MARKER);
    expect(result.stderr).toContain(
      `Dry run: built synthetic invitation ${body.records[0].properties.id}`,
    );
    expect(result.stderr).toContain('nothing was sent');
  });

  it('needs no namespace or hub for a dry run', async () => {
    const result = await run(['--dry-run']);

    expect(result.code).toBe(EXIT_OK);
  });

  it('sends one synthetic invitation to the hub and reports its id on stderr', async () => {
    const result = await run([
      '--namespace',
      NAMESPACE,
      '--hub',
      'entra-audit-logs',
      '--tenant-id',
      '7d0c5a8e-2b1f-4e6a-9c3d-5f4e3d2c1b0a',
      '--invitee',
      'rowan@fabrikam.example',
    ]);

    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toBe('');
    expect(result.sent).toHaveLength(1);
    const [message] = result.sent;
    expect(message?.target).toEqual({
      fullyQualifiedNamespace: NAMESPACE,
      eventHubName: 'entra-audit-logs',
    });
    const record = message?.body.records[0];
    expect(record?.tenantId).toBe('7d0c5a8e-2b1f-4e6a-9c3d-5f4e3d2c1b0a');
    expect(result.stderr).toBe(
      `Sent synthetic invitation ${record?.properties.id} ` +
        '(inviter synthetic-test-inviter@guest-invite-detector.invalid, ' +
        'invitee rowan@fabrikam.example) ' +
        `to event hub "entra-audit-logs" on ${NAMESPACE}.\n`,
    );
  });

  it('falls back to the app settings names in the environment', async () => {
    const result = await run([], {
      AuditEventHub__fullyQualifiedNamespace: NAMESPACE,
      AUDIT_EVENTHUB_NAME: 'entra-audit-logs',
    });

    expect(result.code).toBe(EXIT_OK);
    expect(result.sent[0]?.target).toEqual({
      fullyQualifiedNamespace: NAMESPACE,
      eventHubName: 'entra-audit-logs',
    });
  });

  it('exits 1 and names the hub and the likely cause when sending fails', async () => {
    const failing: InvitationSender = () =>
      Promise.reject(new Error('Unauthorized access. Send claim(s) are required'));

    const result = await run(['--namespace', NAMESPACE, '--hub', 'entra-audit-logs'], {}, failing);

    expect(result.code).toBe(EXIT_FAILURE);
    expect(result.stderr).toContain(
      `could not send to event hub "entra-audit-logs" on ${NAMESPACE}: Unauthorized access.`,
    );
    expect(result.stderr).toContain('Azure Event Hubs Data Sender');
  });

  it('prints its help on stderr and exits 0 with --help', async () => {
    const result = await run(['--help']);

    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr).toContain('--dry-run');
    expect(result.sent).toEqual([]);
  });

  it('is listed by the CLI and reachable by name', async () => {
    const io = captureIo({});

    const code = await runCli(['send-test-event', '--dry-run', '--tenant-id', 'nope'], io.io);

    expect(code).toBe(EXIT_USAGE);
    expect(io.read().stderr).toContain('--tenant-id "nope" is not a GUID');
  });
});
