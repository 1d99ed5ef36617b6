import type { HttpRequest } from '@azure/functions';

import { ApiProblem } from './apiProblem';

export interface PageRequest {
  top: number;
  continuationToken: string | undefined;
}

const TOP = /^[1-9]\d{0,5}$/;
const MAX_TOKEN_LENGTH = 4096;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `?top=` (1 to maxTop) and `?continuation=` (a token from a previous page's nextLink). Other
 * query parameters, such as the function key's `code`, are left alone.
 */
export function readPageRequest(
  request: HttpRequest,
  defaultTop: number,
  maxTop: number,
): PageRequest {
  const topText = request.query.get('top');
  const token = request.query.get('continuation');
  const errors: string[] = [];

  let top = defaultTop;
  if (topText !== null) {
    top = TOP.test(topText) ? Number(topText) : NaN;
    if (!(top >= 1 && top <= maxTop)) {
      errors.push(`top: must be a whole number from 1 to ${maxTop}`);
    }
  }
  if (token !== null && !isContinuationToken(token)) {
    errors.push('continuation: is not a token this API issued; follow nextLink as it is');
  }
  if (errors.length > 0) {
    throw new ApiProblem('invalid-query', 'A paging parameter is not valid.', { errors });
  }

  return { top, continuationToken: token ?? undefined };
}

/** The link to the next page: this URL with only the paging parameters, never a key. */
export function nextLinkFor(request: HttpRequest, top: number, token: string): string {
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  url.searchParams.set('top', String(top));
  url.searchParams.set('continuation', token);

  return url.toString();
}

/** The Tables SDK's tokens are base64 JSON `{nextPartitionKey, nextRowKey?}`. */
function isContinuationToken(token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH || !BASE64.test(token)) {
    return false;
  }

  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown;
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
      return false;
    }
    const { nextPartitionKey, nextRowKey } = decoded as Record<string, unknown>;

    return (
      typeof nextPartitionKey === 'string' &&
      (nextRowKey === undefined || typeof nextRowKey === 'string')
    );
  } catch {
    // Not base64 JSON: not a token this API issued.
    return false;
  }
}
