import type { HttpRequest } from '@azure/functions';

import { inviterKeyProblem, tryParseInviterKey } from '../inviterKey';
import { ApiProblem } from './apiProblem';

/** The `{inviter}` segment of `.../inviters/{inviter}` or `.../inviters/{inviter}/history`. */
const INVITER_SEGMENT = /\/inviters\/([^/]*)(?:\/history)?\/?$/;

const HOW_TO_NAME =
  'Name the inviter by user principal name or by GUID (a user object id, an appId or a ' +
  'servicePrincipalId). Guest UPNs contain #EXT#, which must be URL-encoded as %23EXT%23: ' +
  'a raw "#" starts the URL fragment and never reaches the server.';

/**
 * The inviter key a request names, in the normal form the detector matches by.
 *
 * The Functions host percent-decodes route parameters, and the URL still carries the segment
 * exactly as the client encoded it. Both are read: when they agree, or when the parameter is
 * merely the undecoded form of the URL segment, the segment decoded once is the key; when they
 * disagree otherwise, the URL was rewritten on the way and the host's parameter wins.
 * Throws ApiProblem 400 when the result is not a valid key.
 */
export function inviterFromRequest(request: HttpRequest): string {
  const segment = rawUrlSegment(request.url);
  if (segment !== undefined && tryDecode(segment) === undefined) {
    // The host passes a malformed escape on undecoded, and "%" is allowed in UPNs, so
    // without this check `a%ZZ@b.example` would be taken for the key `a%zz@b.example`.
    throw invalidInviter(
      'the URL has a "%" that does not start a percent-encoded UTF-8 character; send a ' +
        'literal "%" as %25',
    );
  }

  const fromParameter = request.params.inviter;
  const fromUrl = segment === undefined ? undefined : tryDecode(segment);
  let raw: string | undefined;
  if (fromParameter === undefined || fromParameter === '') {
    raw = fromUrl;
  } else if (fromUrl !== undefined && tryDecode(fromParameter) === fromUrl) {
    raw = fromUrl;
  } else {
    raw = fromParameter;
  }

  const problem = raw === undefined ? 'the URL names no inviter' : inviterKeyProblem(raw);
  const key = raw === undefined ? undefined : tryParseInviterKey(raw);
  if (problem !== undefined || key === undefined) {
    throw invalidInviter(problem ?? 'not a valid inviter key');
  }

  return key.value;
}

function invalidInviter(problem: string): ApiProblem {
  return new ApiProblem(
    'invalid-inviter',
    `The URL does not name a valid inviter. ${HOW_TO_NAME}`,
    {
      errors: [`inviter: ${problem}`],
    },
  );
}

/** The `{inviter}` segment as the client encoded it; undefined without a usable URL. */
function rawUrlSegment(url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    // No usable URL (only possible outside the host): the route parameter decides.
    return undefined;
  }

  return INVITER_SEGMENT.exec(pathname)?.[1];
}

function tryDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    // A stray "%" not followed by two hex digits, or escapes that are not UTF-8: no decoded form.
    return undefined;
  }
}
