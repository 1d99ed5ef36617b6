import { ApiProblem } from './apiProblem';

/** The conditional headers of a write, as the API honours them. */
export interface Preconditions {
  /** `*` (any current entry) or one ETag the API handed out; undefined when absent. */
  ifMatch: string | undefined;
  /** `If-None-Match: *`: create only, never replace. */
  ifNoneMatchAny: boolean;
}

/** One entity tag, weak or strong: `"..."` or `W/"..."` (Table Storage ETags are weak). */
const ENTITY_TAG = /^(?:W\/)?"[^"]*"$/;

/**
 * Reads If-Match and If-None-Match. Table Storage checks one ETag per request, so a list of
 * several is refused rather than half honoured; If-None-Match is only meaningful as `*` on PUT.
 */
export function readPreconditions(headers: Headers, method: 'PUT' | 'DELETE'): Preconditions {
  const ifMatch = headers.get('if-match')?.trim();
  const ifNoneMatch = headers.get('if-none-match')?.trim();
  const errors: string[] = [];

  if (ifMatch !== undefined && ifMatch !== '*' && !ENTITY_TAG.test(ifMatch)) {
    errors.push(
      'If-Match: must be "*" or exactly one ETag as the API returned it, quotes included',
    );
  }
  if (ifNoneMatch !== undefined && (method !== 'PUT' || ifNoneMatch !== '*')) {
    errors.push(
      method === 'PUT'
        ? 'If-None-Match: only "*" is supported (create the entry only if it does not exist)'
        : 'If-None-Match: is not supported on DELETE; use If-Match',
    );
  }
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    errors.push('If-Match and If-None-Match: send one or the other, not both');
  }
  if (errors.length > 0) {
    throw new ApiProblem('invalid-header', 'A conditional request header is not usable.', {
      errors,
    });
  }

  return { ifMatch, ifNoneMatchAny: ifNoneMatch === '*' };
}
