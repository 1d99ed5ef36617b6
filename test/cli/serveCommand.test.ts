import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { localPrincipal } from '../../lib/adminApi/localPrincipal';
import type { CliIo } from '../../lib/cli/cliIo';
import { runServe, serveCommand } from '../../lib/cli/serveCommand';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';
import { waitFor } from '../support/waitFor';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adminApi');
const LENA = 'lena.fischer@northwind.example';
const TOMAS = 'tomas.berg@northwind.example';
const ADMIN = localPrincipal('priya.raman@northwind.example');

interface RunningServe {
  url: string;
  azuritePort: number | undefined;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once serve has stopped. */
  exited: Promise<number>;
}

function captureIo(env: NodeJS.ProcessEnv): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));

  return {
    io: { stdin: Readable.from(['']), stdout, stderr, env },
    out: () => out,
    err: () => err,
  };
}

async function startServe(
  env: NodeJS.ProcessEnv,
  run: (io: CliIo) => Promise<number>,
): Promise<RunningServe> {
  const { io, out, err } = captureIo(env);
  let finished = false;
  const exited = run(io).finally(() => {
    finished = true;
  });
  await waitFor(() => out().includes('Ready.') || finished, 30_000, err);
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out())?.[1];
  if (url === undefined) {
    throw new Error(`serve did not start:\n${out()}\n${err()}`);
  }
  const azurite = /Azurite in memory on 127\.0\.0\.1:(\d+)/.exec(out())?.[1];

  return {
    url,
    azuritePort: azurite === undefined ? undefined : Number(azurite),
    stdout: out,
    stderr: err,
    exited,
  };
}

function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function call(
  method: string,
  url: string,
  body?: unknown,
  principal: string | null = ADMIN,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(principal === null ? {} : { 'x-ms-client-principal': principal }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();

  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

interface Received {
  type?: string;
  action: string;
  /** A notice names the inviter key; an alert describes the inviter. */
  inviter: string | { userPrincipalName: string };
  invitee: { email: string };
  reason: string;
}

/** What the receiver got, split into allowlist notices and alerts. */
function received(receiver: WebhookReceiver): {
  notices: { action: string; inviter: string }[];
  alerts: { inviter: string; invitee: string; reason: string }[];
} {
  const bodies = receiver.requests.map((request) => JSON.parse(request.body) as Received);

  return {
    notices: bodies
      .filter((body) => body.type === 'allowlist-change')
      .map((body) => ({ action: body.action, inviter: body.inviter as string })),
    alerts: bodies
      .filter((body) => body.type !== 'allowlist-change')
      .map((body) => ({
        inviter: (body.inviter as { userPrincipalName: string }).userPrincipalName,
        invitee: body.invitee.email,
        reason: body.reason,
      }))
      .sort((a, b) => a.invitee.localeCompare(b.invitee)),
  };
}

describe('serve: the whole app on this machine', () => {
  let receiver: WebhookReceiver;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('runs admin API and detector together: approved invitations stay quiet, changes take effect at once', async () => {
    const stop = new AbortController();
    const serve = await startServe(
      // A long cache TTL: only the invalidation after each change can make the detector see it.
      { ALLOWLIST_CACHE_TTL_SECONDS: '600', DELIVERY_MAX_ATTEMPTS: '1' },
      (io) => runServe(['--port', '0', '--webhook', receiver.url], io, stop.signal),
    );

    try {
      await expectTheWholeApp(serve);
    } finally {
      stop.abort();
    }
    expect(await serve.exited).toBe(0);
    expect(await portIsOpen(serve.azuritePort ?? 0)).toBe(false);
    expect(await portIsOpen(Number(new URL(serve.url).port))).toBe(false);
  });

  async function expectTheWholeApp(serve: RunningServe): Promise<void> {
    expect(serve.stdout()).toContain(
      `Alerts and allowlist notices go to: webhook#1 (${new URL(receiver.url).origin})`,
    );
    expect(serve.stdout()).toContain('no function key locally');
    expect(serve.stdout() + serve.stderr()).not.toContain('secret-signature-value');
    expect(serve.azuritePort).toEqual(expect.any(Number));

    const seeded = await call('PUT', `${serve.url}/api/inviters/${encodeURIComponent(LENA)}`, {
      allowedDomains: ['partner.example'],
      note: 'Partner onboarding lead; ticket OPS-4410',
    });
    expect(seeded.status).toBe(201);

    const first = await call(
      'POST',
      `${serve.url}/api/ingest`,
      readFileSync(join(FIXTURES, 'eventhub-batch-two-unapproved.json'), 'utf8'),
      null,
    );
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      records: 5,
      invitations: 3,
      approved: 1,
      alerts: 2,
      unreadable: 0,
      ignored: 1,
    });
    await waitFor(
      () => received(receiver).alerts.length >= 2,
      10_000,
      () => serve.stderr(),
    );
    expect(received(receiver)).toEqual({
      notices: [{ action: 'create', inviter: LENA }],
      alerts: [
        { inviter: TOMAS, invitee: 'j.doe.contractor@mailbox.example', reason: 'not-approved' },
        { inviter: LENA, invitee: 'old.friend@mailbox.example', reason: 'domain-not-allowed' },
      ],
    });

    const revoked = await call('DELETE', `${serve.url}/api/inviters/${encodeURIComponent(LENA)}`);
    expect(revoked.status).toBe(204);
    const second = await call(
      'POST',
      `${serve.url}/api/ingest`,
      readFileSync(join(FIXTURES, 'eventhub-batch-after-revocation.json'), 'utf8'),
      null,
    );
    expect(second.body).toMatchObject({ records: 1, invitations: 1, approved: 0, alerts: 1 });
    await waitFor(
      () => received(receiver).alerts.length >= 3,
      10_000,
      () => serve.stderr(),
    );
    expect(received(receiver).notices).toEqual([
      { action: 'create', inviter: LENA },
      { action: 'delete', inviter: LENA },
    ]);
    expect(received(receiver).alerts).toContainEqual({
      inviter: LENA,
      invitee: 'ola.nordmann@partner.example',
      reason: 'not-approved',
    });
    expect(received(receiver).alerts).toHaveLength(3);
  }

  it('applies the same authorisation as in Azure, and answers unknown paths with problems', async () => {
    const stop = new AbortController();
    const serve = await startServe({}, (io) => runServe(['--port', '0'], io, stop.signal));

    try {
      const anonymous = await call('GET', `${serve.url}/api/inviters`, undefined, null);
      const reader = await call(
        'PUT',
        `${serve.url}/api/inviters/${encodeURIComponent(LENA)}`,
        {},
        localPrincipal('owen.hart@northwind.example', ['Inviters.Read']),
      );
      const unknown = await call('GET', `${serve.url}/api/nothing-here`);
      const ingestByGet = await call('GET', `${serve.url}/api/ingest`);
      const notJson = await fetch(`${serve.url}/api/ingest`, { method: 'POST', body: 'x' });

      expect(anonymous.status).toBe(401);
      expect(reader.status).toBe(403);
      expect(unknown.status).toBe(404);
      expect(ingestByGet.status).toBe(405);
      expect(notJson.status).toBe(415);
      expect(notJson.headers.get('content-type')).toBe('application/problem+json');
    } finally {
      stop.abort();
      await serve.exited;
    }
  });

  it('seeds the allowlist from --allowlist through the API, recorded as the seed', async () => {
    const stop = new AbortController();
    const serve = await startServe({}, (io) =>
      runServe(['--port', '0', '--allowlist', join(FIXTURES, 'allowlist.json')], io, stop.signal),
    );

    try {
      const entry = await call('GET', `${serve.url}/api/inviters/${encodeURIComponent(LENA)}`);

      expect(serve.stdout()).toContain('Seeded the allowlist from');
      expect(entry.status).toBe(200);
      expect(entry.body).toMatchObject({
        inviter: LENA,
        allowedDomains: ['partner.example'],
        createdBy: 'serve-allowlist-seed@localhost',
      });
    } finally {
      stop.abort();
      await serve.exited;
    }
  });

  it('stops on SIGINT, Azurite included', async () => {
    const serve = await startServe({}, (io) => serveCommand(['--port', '0'], io));

    process.emit('SIGINT');

    expect(await serve.exited).toBe(0);
    expect(await portIsOpen(serve.azuritePort ?? 0)).toBe(false);
    expect(process.listeners('SIGINT')).toHaveLength(0);
  });

  it.each([
    [['--port', 'seventy'], '--port must be a port number from 0 to 65535'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--webhook', 'http://example.com/hook'], 'Setting ALERT_WEBHOOK_URL must be an https URL'],
  ])('refuses %j with exit status 2 before starting anything', async (args, message) => {
    const { io, err } = captureIo({});

    const code = await runServe(args, io, new AbortController().signal);

    expect(code).toBe(2);
    expect(err()).toContain(message);
  });
});
