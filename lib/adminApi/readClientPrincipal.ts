import { z } from 'zod';

import { ApiProblem } from './apiProblem';

/** Set by App Service Authentication, which strips any copy a client sends. */
export const CLIENT_PRINCIPAL_HEADER = 'x-ms-client-principal';

/** The signed-in caller as App Service Authentication describes it. */
export interface ClientPrincipal {
  /** The identity provider, e.g. `aad`. */
  authType: string | undefined;
  /** A user's sign-in name (preferred_username, upn or the name_typ claim). */
  name: string | undefined;
  /** The Entra object id of the user or service principal (`oid`). */
  objectId: string | undefined;
  /** The client application, for app-only callers (`appid` / `azp`). */
  appId: string | undefined;
  roles: string[];
}

/** Role claims arrive under either name, or under the type that `role_typ` names. */
const ROLE_CLAIM_TYPES = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const OBJECT_ID_CLAIM_TYPES = [
  'http://schemas.microsoft.com/identity/claims/objectidentifier',
  'oid',
];
const APP_ID_CLAIM_TYPES = ['appid', 'azp'];
const NAME_CLAIM_TYPES = ['preferred_username', 'upn'];
/** Far above a real principal (a token's claims), far below anything that could hurt. */
const MAX_HEADER_LENGTH = 64 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const principalSchema = z.object({
  auth_typ: z.string().nullish(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })).max(2000),
  name_typ: z.string().nullish(),
  role_typ: z.string().nullish(),
});

/**
 * Decodes `x-ms-client-principal` (base64 JSON `{auth_typ, claims: [{typ, val}], name_typ,
 * role_typ}`). Undefined when the header is absent; an ApiProblem (401) when it cannot be read.
 */
export function readClientPrincipal(headers: Headers): ClientPrincipal | undefined {
  const header = headers.get(CLIENT_PRINCIPAL_HEADER)?.trim();
  if (header === undefined || header === '') {
    return undefined;
  }

  const unreadable = (cause?: unknown): ApiProblem =>
    new ApiProblem(
      'unauthenticated',
      `The ${CLIENT_PRINCIPAL_HEADER} header is not base64-encoded JSON describing a principal, ` +
        'so the caller cannot be identified. Call the API through App Service Authentication.',
      { headers: { 'www-authenticate': 'Bearer' }, cause },
    );
  if (header.length > MAX_HEADER_LENGTH || !BASE64.test(header)) {
    throw unreadable();
  }

  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as unknown;
  } catch (error) {
    throw unreadable(error);
  }
  const parsed = principalSchema.safeParse(document);
  if (!parsed.success) {
    throw unreadable(parsed.error);
  }

  const { claims, name_typ: nameType, role_typ: roleType } = parsed.data;
  const valuesOf = (types: (string | null | undefined)[]): string[] =>
    claims
      .filter((claim) => types.includes(claim.typ))
      .map((claim) => claim.val.trim())
      .filter((value) => value !== '');
  const first = (types: (string | null | undefined)[]): string | undefined => valuesOf(types)[0];

  return {
    authType: parsed.data.auth_typ ?? undefined,
    name: first(NAME_CLAIM_TYPES) ?? first([nameType]) ?? first(['name']),
    objectId: first(OBJECT_ID_CLAIM_TYPES),
    appId: first(APP_ID_CLAIM_TYPES),
    roles: [...new Set(valuesOf([...ROLE_CLAIM_TYPES, roleType]).flatMap(splitRoles))],
  };
}

/** A role claim is one role, though some token paths put a JSON array in one claim. */
function splitRoles(value: string): string[] {
  if (!value.startsWith('[')) {
    return [value];
  }

  try {
    const parsed = JSON.parse(value) as unknown;

    return Array.isArray(parsed) ? parsed.filter((role) => typeof role === 'string') : [value];
  } catch {
    // Not JSON after all: a role value that happens to start with "[" is still a value.
    return [value];
  }
}
