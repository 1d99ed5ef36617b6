import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { InvocationContext } from '@azure/functions';

import { ApiProblem } from '../adminApi/apiProblem';
import { problemResponse, type ApiResponse } from '../adminApi/apiResponse';
import { createInvitersRuntime } from '../adminApi/createInvitersRuntime';
import { matchInvitersRoute, routeHandler } from '../adminApi/invitersRoutes';
import { startAzurite, type RunningAzurite } from '../azuriteProcess';
import { CachedAllowlist } from '../cachedAllowlist';
import { createDetectorRuntime, type RuntimeOverrides } from '../detectorRuntime';
import { startRedeliveryLoop } from '../startRedeliveryLoop';
import { loadSettings } from '../settings';
import type { TablesConnection } from '../tableServiceClients';
import { createIngestHandler, MAX_INGEST_BYTES } from './createIngestHandler';
import { isLocalAppHost } from './isLocalAppHost';
import { isLoopbackStorage } from './isLoopbackStorage';
import { readIncomingRequest } from './readIncomingRequest';
import { writeApiResponse } from './writeApiResponse';

/** Local mode listens on the loopback interface only: /api/ingest asks for no sign-in. */
export const LOCAL_HOST = '127.0.0.1';
/** The admin API refuses bodies over 16 KB itself; this only bounds what is buffered. */
const MAX_ADMIN_REQUEST_BYTES = 1024 * 1024;

export interface LocalAppOptions {
  /** 0 picks a free port. */
  port: number;
  env: Record<string, string | undefined>;
  /** Operator log lines (the serve command's standard error). */
  log: (line: string) => void;
  /** Shorter timings for tests; the serve command uses the defaults. */
  runtime?: RuntimeOverrides;
}

export interface RunningLocalApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Where the allowlist lives, in words, without secrets. */
  storage: string;
  /**
   * True when the allowlist is in shared Table Storage rather than an Azurite on this
   * machine: the API here trusts the principal header, so anyone on this machine can change it.
   */
  sharedStorage: boolean;
  /** Alert and notice destinations as `label (scheme://host)`: never a full URL. */
  destinations: string[];
  /** How often pending alerts are retried, as the redelivery timer does in Azure. */
  redeliveryIntervalMs: number;
  stop(): Promise<void>;
}

/**
 * The whole app on this machine: the admin API (same handlers, routes and authorisation as
 * in Azure, without the function key) and `POST /api/ingest`, which runs Event Hubs bodies
 * through the detector. Starts an in-memory Azurite when no Table Storage is configured.
 * Answers only requests addressed to itself by a loopback name (see isLocalAppHost).
 * After each allowlist change the detector's cached allowlist is dropped, so the next
 * ingest sees it.
 */
export async function startLocalApp(options: LocalAppOptions): Promise<RunningLocalApp> {
  const env = { ...options.env };
  // Validates every setting before anything starts.
  const configured = loadSettings(env).tables;
  let azurite: RunningAzurite | undefined;
  if (configured === undefined) {
    azurite = await startAzurite();
    env.TABLES_CONNECTION_STRING = azurite.connectionString;
    env.TABLES_ENDPOINT = '';
  }

  try {
    const detector = createDetectorRuntime(env, options.runtime);
    const { allowlist } = detector;
    const inviters = createInvitersRuntime(env, {
      localMode: true,
      teamsLimiter: detector.teamsLimiter,
      onChange: () => {
        if (allowlist instanceof CachedAllowlist) {
          allowlist.invalidate();
        }
      },
    });
    const ingest = createIngestHandler({
      allowlist,
      sink: detector.sink,
      deadLetters: detector.deadLetters,
      log: (level, message) => options.log(`[${level}] detectGuestInvitations: ${message}`),
    });

    let port = 0;
    let origin = '';
    const answer = async (
      incoming: IncomingMessage,
      invocationId: string,
    ): Promise<ApiResponse> => {
      const path = (incoming.url ?? '/').split('?')[0] ?? '/';
      const isIngest = path === '/api/ingest';
      const match = path.startsWith('/api/') ? matchInvitersRoute(path.slice(5)) : undefined;
      const functionName = isIngest ? 'ingest' : (match?.route.name ?? 'none');
      const context = new InvocationContext({
        invocationId,
        functionName,
        logHandler: (level, ...args) =>
          options.log(`[${level}] ${functionName}: ${args.map(String).join(' ')}`),
      });

      // Before anything else: a request for another host name is a rebinding page or a
      // proxy, and the principal header it carries must not be believed.
      if (!isLocalAppHost(incoming.headers.host, port)) {
        const host = JSON.stringify((incoming.headers.host ?? '').slice(0, 100));
        context.warn(
          `Refused a request for host ${host}: local mode answers only requests addressed to ` +
            `127.0.0.1:${port}, localhost:${port} or [::1]:${port}.`,
        );

        return problemResponse(
          new ApiProblem(
            'misdirected-request',
            `Local mode answers only requests addressed to 127.0.0.1:${port}, localhost:${port} ` +
              `or [::1]:${port}, so that a web page cannot reach it through another host name ` +
              `(DNS rebinding). Call ${origin} directly, not through a proxy or another name.`,
          ),
          context.invocationId,
        );
      }
      if (!isIngest && match === undefined) {
        return problemResponse(
          new ApiProblem(
            'not-found',
            'No such path. The admin API is under /api/inviters; ingest is POST /api/ingest.',
          ),
          context.invocationId,
        );
      }
      if (isIngest && incoming.method !== 'POST') {
        return problemResponse(
          new ApiProblem('method-not-allowed', '/api/ingest takes POST only.', {
            headers: { allow: 'POST' },
          }),
          context.invocationId,
        );
      }

      const maxBytes = isIngest ? MAX_INGEST_BYTES : MAX_ADMIN_REQUEST_BYTES;
      const request = await readIncomingRequest(incoming, origin, match?.params ?? {}, maxBytes);
      if (request === undefined) {
        return problemResponse(
          new ApiProblem('body-too-large', `The body is larger than ${maxBytes} bytes.`),
          context.invocationId,
        );
      }

      return isIngest || match === undefined
        ? ingest(request, context)
        : routeHandler(inviters.api, match.route)(request, context);
    };

    const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
      const invocationId = randomUUID();
      answer(incoming, invocationId).then(
        (response) => {
          options.log(`${incoming.method ?? '?'} ${pathOnly(incoming)} -> ${response.status}`);
          writeApiResponse(outgoing, response);
        },
        (error: unknown) => {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          options.log(
            `${incoming.method ?? '?'} ${pathOnly(incoming)} failed ` +
              `(invocation ${invocationId}): ${reason}`,
          );
          writeApiResponse(
            outgoing,
            problemResponse(
              new ApiProblem(
                'internal-error',
                `An unexpected error occurred. The serve command's log has it under invocation ` +
                  `id ${invocationId}.`,
              ),
              invocationId,
            ),
          );
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, LOCAL_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    origin = `http://${LOCAL_HOST}:${port}`;

    // The redelivery timer's stand-in: pending alerts and change notices are retried while
    // serve runs.
    const stopRedelivery = startRedeliveryLoop(
      detector,
      detector.settings.reliability.localRedeliveryIntervalMs,
      {
        log: (message) => options.log(`[information] redeliverAlerts: ${message}`),
        warn: (message) => options.log(`[warning] redeliverAlerts: ${message}`),
        error: (message) => options.log(`[error] redeliverAlerts: ${message}`),
      },
    );

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await stopRedelivery();
        await azurite?.stop();
      })();

      return stopped;
    };

    return {
      url: origin,
      port,
      storage:
        azurite === undefined
          ? describeStorage(configured)
          : `Azurite in memory on ${LOCAL_HOST}:${azurite.port} (nothing is kept after exit)`,
      sharedStorage: configured !== undefined && !isLoopbackStorage(configured),
      destinations: detector.settings.destinations.map(
        (destination) => `${destination.label} (${destination.url.origin})`,
      ),
      redeliveryIntervalMs: detector.settings.reliability.localRedeliveryIntervalMs,
      stop,
    };
  } catch (error) {
    await azurite?.stop();
    throw error;
  }
}

function describeStorage(connection: TablesConnection | undefined): string {
  if (connection === undefined) {
    return 'none';
  }
  if (connection.kind === 'endpoint') {
    return `Table Storage at ${new URL(connection.endpoint).origin} (DefaultAzureCredential)`;
  }

  const endpoint = /TableEndpoint=([^;]+)/i.exec(connection.connectionString)?.[1];

  return endpoint === undefined
    ? 'the tables of TABLES_CONNECTION_STRING (development storage)'
    : `the tables of TABLES_CONNECTION_STRING (${safeOrigin(endpoint)})`;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an endpoint that is not a URL';
  }
}

/** Logged paths leave out the query: it may hold a function key. */
function pathOnly(incoming: IncomingMessage): string {
  return (incoming.url ?? '/').split('?')[0] ?? '/';
}
