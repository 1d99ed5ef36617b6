import type { ApiProblem } from './apiProblem';

/** What an admin API handler answers; a plain HttpResponseInit with a string body. */
export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** Answers are about one caller's view of the allowlist: never cached by anything between. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ApiResponse {
  return {
    status,
    headers: { ...COMMON_HEADERS, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { ...COMMON_HEADERS, ...headers } };
}

/** An RFC 9457 problem document; the invocation id lets an operator find the logs. */
export function problemResponse(problem: ApiProblem, invocationId: string): ApiResponse {
  return {
    status: problem.status,
    headers: {
      ...COMMON_HEADERS,
      ...problem.headers,
      'content-type': 'application/problem+json',
    },
    body: JSON.stringify({
      type: problem.type,
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      errors: problem.errors,
      invocationId,
    }),
  };
}
