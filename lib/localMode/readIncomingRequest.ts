import type { IncomingMessage } from 'node:http';

import { HttpRequest } from '@azure/functions';

/**
 * A node:http request as the Functions host would hand it to a handler: the URL as the
 * client sent it, route parameters decoded once, and X-Forwarded-For ending with the address
 * the connection came from, as App Service's front end appends it. Resolves undefined when
 * the body is larger than `maxBytes` (the rest is read and dropped).
 */
export async function readIncomingRequest(
  incoming: IncomingMessage,
  origin: string,
  params: Record<string, string>,
  maxBytes: number,
): Promise<HttpRequest | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size <= maxBytes) {
      chunks.push(bytes);
    }
  }
  if (size > maxBytes) {
    return undefined;
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  const peer = incoming.socket.remoteAddress;
  if (peer !== undefined) {
    const port = incoming.socket.remotePort;
    const address = peer.includes(':') ? `[${peer}]:${port ?? 0}` : `${peer}:${port ?? 0}`;
    headers['x-forwarded-for'] =
      headers['x-forwarded-for'] === undefined
        ? address
        : `${headers['x-forwarded-for']}, ${address}`;
  }
  const method = (incoming.method ?? 'GET').toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';

  return new HttpRequest({
    method,
    url: `${origin}${incoming.url ?? '/'}`,
    headers,
    params,
    ...(hasBody ? { body: { bytes: Buffer.concat(chunks) } } : {}),
  });
}
