/**
 * True when a Host header names this local app: `127.0.0.1`, `localhost` or `[::1]` with the
 * port it listens on. Listening on loopback keeps other machines out, but not a web page: by
 * DNS rebinding, a page served from evil.example can make the browser send its requests to
 * 127.0.0.1 with `Host: evil.example:<port>`, and then read the answers as same-origin.
 */
export function isLocalAppHost(host: string | undefined, port: number): boolean {
  if (host === undefined) {
    return false;
  }

  const names = ['127.0.0.1', 'localhost', '[::1]'];
  const accepted = names.map((name) => `${name}:${port}`);
  // Clients leave out the port when it is the scheme's default.
  if (port === 80) {
    accepted.push(...names);
  }

  return accepted.includes(host.trim().toLowerCase());
}
