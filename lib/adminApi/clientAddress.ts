import { isIP } from 'node:net';

/**
 * The address the request came from, for the record. App Service's front end appends the
 * address it saw to X-Forwarded-For (with a port), so the last entry is the one it vouches
 * for; earlier entries come from the client and could be anything. X-Client-IP is the
 * fallback. Undefined when neither holds an IP address.
 */
export function clientAddressOf(headers: Headers): string | undefined {
  const forwarded = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const candidate = forwarded.at(-1) ?? headers.get('x-client-ip')?.trim();
  if (candidate === undefined) {
    return undefined;
  }

  const address = withoutPort(candidate);

  return isIP(address) === 0 ? undefined : address;
}

function withoutPort(value: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1] !== undefined) {
    return bracketed[1];
  }

  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);

  return ipv4WithPort?.[1] ?? value;
}
