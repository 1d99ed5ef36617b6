import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the receiver answers one request. */
export type ReceiverAnswer =
  | { kind: 'accept'; status?: 200 | 202 }
  | { kind: 'fail'; status: number }
  /** A 429; `retryAfter` sends that exact header text instead (a date, a 400-digit number). */
  | { kind: 'throttle'; retryAfterSeconds?: number; retryAfter?: string }
  /** Teams' way: a 200 whose body says the request was throttled. */
  | { kind: 'teams-throttle' }
  /** Never answers; the sender's timeout has to end it. */
  | { kind: 'hang' }
  /** Accepts, but answers only after `delayMs` (a slow receiver, within the sender's timeout). */
  | { kind: 'slow'; delayMs: number };

export interface ReceivedMessage {
  /** Milliseconds since the receiver started. */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Audit record ids the message reports: one for an alert, several for a digest card. */
  auditIds: string[];
  answer: ReceiverAnswer['kind'];
}

export type ReceiverBehaviour = (message: ReceivedMessage) => ReceiverAnswer;

export interface FlakyReceiver {
  /** A loopback URL on this receiver; the path tells destinations apart. */
  url(path: string): string;
  messages: ReceivedMessage[];
  /** Times each audit record id was acknowledged (answered 2xx, not throttled) on a path. */
  acknowledged(path: string): Map<string, number>;
  setBehaviour(behaviour: ReceiverBehaviour): void;
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1 that fails the way real ones do: errors, hangs, 429s with
 * Retry-After, Teams throttling inside a 200, and recovery. It understands both bodies the
 * detector sends (alert JSON and Teams messages with single or digest cards) and counts what
 * it acknowledged per audit record id, so tests can assert exactly-once delivery.
 */
export async function startFlakyReceiver(
  behaviour: ReceiverBehaviour = () => ({ kind: 'accept' }),
): Promise<FlakyReceiver> {
  let current = behaviour;
  const startedAt = Date.now();
  const messages: ReceivedMessage[] = [];
  const acknowledgements = new Map<string, Map<string, number>>();

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const message: ReceivedMessage = {
        at: Date.now() - startedAt,
        path: (request.url ?? '').split('?')[0]!,
        headers: request.headers,
        body,
        auditIds: auditIdsIn(body),
        answer: 'accept',
      };
      const answer = current(message);
      message.answer = answer.kind;
      messages.push(message);

      const acknowledge = (status: number) => {
        const counts = acknowledgements.get(message.path) ?? new Map<string, number>();
        for (const auditId of message.auditIds) {
          counts.set(auditId, (counts.get(auditId) ?? 0) + 1);
        }
        acknowledgements.set(message.path, counts);
        response.writeHead(status).end();
      };

      switch (answer.kind) {
        case 'accept':
          acknowledge(answer.status ?? 202);
          break;
        case 'slow':
          setTimeout(() => acknowledge(202), answer.delayMs);
          break;
        case 'fail':
          response.writeHead(answer.status).end('receiver failure');
          break;
        case 'throttle':
          response
            .writeHead(
              429,
              answer.retryAfter !== undefined
                ? { 'retry-after': answer.retryAfter }
                : answer.retryAfterSeconds === undefined
                  ? {}
                  : { 'retry-after': String(answer.retryAfterSeconds) },
            )
            .end();
          break;
        case 'teams-throttle':
          response
            .writeHead(200)
            .end('Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0');
          break;
        case 'hang':
          break;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    messages,
    acknowledged: (path) => acknowledgements.get(path) ?? new Map(),
    setBehaviour: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The audit ids in an alert JSON body, or in the "Audit record" facts of a Teams card. */
export function auditIdsIn(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }

  const alert = parsed as { auditId?: unknown; type?: unknown };
  if (typeof alert.auditId === 'string') {
    return [alert.auditId];
  }

  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
    } else if (typeof node === 'object' && node !== null) {
      const fact = node as { title?: unknown; value?: unknown };
      if (fact.title === 'Audit record' && typeof fact.value === 'string') {
        // Card text escapes Markdown characters with a backslash.
        found.push(fact.value.replace(/\\(.)/g, '$1'));
      }
      Object.values(node).forEach(visit);
    }
  };
  visit(parsed);

  return found;
}
