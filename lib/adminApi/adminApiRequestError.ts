/**
 * A call to the admin API failed without an answer the caller can act on per entry: no
 * connection, or a refusal of the whole request (401, 403, 5xx). The message names the method,
 * the host and the status; never the function key, the token or the principal.
 */
export class AdminApiRequestError extends Error {
  override readonly name = 'AdminApiRequestError';

  constructor(
    readonly method: string,
    readonly url: URL,
    readonly status: number | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${method} ${url.origin}${url.pathname} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${problem}`,
      options,
    );
  }
}
