import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { localPrincipal } from '../../lib/adminApi/localPrincipal';
import type { CliIo } from '../../lib/cli/cliIo';
import { runServe, serveCommand } from '../../lib/cli/serveCommand';
import * as incomingRequests from '../../lib/localMode/readIncomingRequest';
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

/** A request with the Host header a browser would send after DNS rebinding, or any other. */
function callAs(
  host: string,
  method: string,
  url: string,
  body?: string,
): Promise<{ status: number; contentType: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method,
        headers: {
          host,
          'x-ms-client-principal': ADMIN,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'],
            body: text === '' ? undefined : JSON.parse(text),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
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

  it('refuses with 421 any request whose Host is not this server, as a DNS-rebinding page sends it', async () => {
    const stop = new AbortController();
    const serve = await startServe({}, (io) => runServe(['--port', '0'], io, stop.signal));
    const port = new URL(serve.url).port;
    const entry = `${serve.url}/api/inviters/${encodeURIComponent(LENA)}`;

    try {
      const rebound = await callAs(`evil.example:${port}`, 'PUT', entry, '{}');
      const otherPort = await callAs('127.0.0.1:1', 'GET', `${serve.url}/api/inviters`);
      const noPort = await callAs('localhost', 'GET', `${serve.url}/api/inviters`);
      const ingest = await callAs(`evil.example:${port}`, 'POST', `${serve.url}/api/ingest`, '{}');
      const accepted = await Promise.all(
        [`127.0.0.1:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`].map(
          async (host) => (await callAs(host, 'GET', `${serve.url}/api/inviters`)).status,
        ),
      );
      const stored = await call('GET', entry);

      expect([rebound.status, otherPort.status, noPort.status, ingest.status]).toEqual([
        421, 421, 421, 421,
      ]);
      expect(rebound.contentType).toBe('application/problem+json');
      expect(rebound.body).toEqual({
        type: 'urn:guest-invite-detector:problem:misdirected-request',
        title: 'The request is addressed to a host this server does not serve',
        status: 421,
        detail:
          `Local mode answers only requests addressed to 127.0.0.1:${port}, localhost:${port} ` +
          `or [::1]:${port}, so that a web page cannot reach it through another host name ` +
          `(DNS rebinding). Call ${serve.url} directly, not through a proxy or another name.`,
        errors: [],
        invocationId: expect.any(String),
      });
      expect(accepted).toEqual([200, 200, 200]);
      expect(stored.status).toBe(404);
    } finally {
      stop.abort();
      await serve.exited;
    }
  });

  it('warns on start that anyone on this machine can change the allowlist when it is shared Table Storage', async () => {
    const stop = new AbortController();
    const serve = await startServe(
      { TABLES_ENDPOINT: 'https://stgidprod.table.core.windows.net' },
      (io) => runServe(['--port', '0'], io, stop.signal),
    );

    try {
      expect(serve.stderr().split('\n')).toContain(
        'warning: the allowlist is in Table Storage at https://stgidprod.table.core.windows.net ' +
          '(DefaultAzureCredential), not an Azurite on this machine, and local mode trusts the ' +
          'x-ms-client-principal header as it comes: anyone on this machine (any user or process ' +
          'that can reach the port) can change that allowlist, naming any caller and role. Stop ' +
          'serve when you are done.',
      );
    } finally {
      stop.abort();
      await serve.exited;
    }
  });

  it('gives no such warning for the Azurite it starts itself', async () => {
    const stop = new AbortController();
    const serve = await startServe({}, (io) => runServe(['--port', '0'], io, stop.signal));
    stop.abort();
    await serve.exited;

    expect(serve.stderr()).not.toContain('warning:');
  });

  it('answers an unexpected failure with a problem+json internal-error naming the invocation the log has', async () => {
    const stop = new AbortController();
    const serve = await startServe({}, (io) => runServe(['--port', '0'], io, stop.signal));
    jest
      .spyOn(incomingRequests, 'readIncomingRequest')
      .mockRejectedValueOnce(new Error('socket hang up'));

    try {
      const response = await fetch(`${serve.url}/api/inviters`, {
        headers: { 'x-ms-client-principal': ADMIN },
      });
      const body = (await response.json()) as { invocationId: string };

      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(body).toEqual({
        type: 'urn:guest-invite-detector:problem:internal-error',
        title: 'Internal error',
        status: 500,
        detail:
          "An unexpected error occurred. The serve command's log has it under invocation id " +
          `${body.invocationId}.`,
        errors: [],
        invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(serve.stderr()).toContain(
        `GET /api/inviters failed (invocation ${body.invocationId}): Error: socket hang up`,
      );
    } finally {
      jest.restoreAllMocks();
      stop.abort();
      await serve.exited;
    }
  });
});
