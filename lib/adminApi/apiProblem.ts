/**
 * The kinds of problem the admin API answers with, each an RFC 9457 problem type. The slugs
 * are stable (clients may branch on them) and docs/admin-api.md explains each one.
 */
export const PROBLEM_KINDS = {
  'invalid-inviter': { status: 400, title: 'The inviter in the URL is not a valid inviter key' },
  'invalid-entry': { status: 400, title: 'The allowlist entry in the body is not valid' },
  'malformed-body': { status: 400, title: 'The body is not a JSON document' },
  'invalid-header': { status: 400, title: 'A request header is not valid' },
  'invalid-query': { status: 400, title: 'A query parameter is not valid' },
  unauthenticated: { status: 401, title: 'The caller is not signed in' },
  forbidden: { status: 403, title: 'The caller lacks the app role this request needs' },
  'not-found': { status: 404, title: 'No such resource' },
  'method-not-allowed': { status: 405, title: 'This method is not served on this path' },
  'invalid-stored-entry': { status: 409, title: 'The stored allowlist entry is not valid' },
  'concurrent-change': { status: 409, title: 'The entry kept changing while this request ran' },
  'precondition-failed': {
    status: 412,
    title: 'The entry is not in the state the request requires',
  },
  'body-too-large': { status: 413, title: 'The body is too large' },
  'misdirected-request': {
    status: 421,
    title: 'The request is addressed to a host this server does not serve',
  },
  'unsupported-media-type': { status: 415, title: 'The body must be JSON' },
  'internal-error': { status: 500, title: 'Internal error' },
  'authentication-not-configured': {
    status: 503,
    title: 'App Service Authentication is not enabled for this app',
  },
  'storage-not-configured': { status: 503, title: 'No allowlist storage is configured' },
  'storage-unavailable': { status: 503, title: 'The allowlist storage is unavailable' },
  'audit-unavailable': {
    status: 503,
    title: 'The change was applied, but its audit record could not be written',
  },
} as const;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

/** Problem type URIs are URNs: stable identifiers, documented in docs/admin-api.md. */
export const PROBLEM_TYPE_PREFIX = 'urn:guest-invite-detector:problem:';

/**
 * A request the API refuses, with what was wrong and how to fix it. `detail` and `errors` go
 * to the caller as they are, so they name input and never internals.
 */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  readonly status: number;
  readonly title: string;
  readonly errors: string[];
  readonly headers: Record<string, string>;

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    options: { errors?: string[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(`${kind}: ${detail}`, { cause: options.cause });
    this.status = PROBLEM_KINDS[kind].status;
    this.title = PROBLEM_KINDS[kind].title;
    this.errors = options.errors ?? [];
    this.headers = options.headers ?? {};
  }

  get type(): string {
    return `${PROBLEM_TYPE_PREFIX}${this.kind}`;
  }
}
