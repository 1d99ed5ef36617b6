import { ApiProblem } from './apiProblem';
import { readClientPrincipal, type ClientPrincipal } from './readClientPrincipal';

/** App roles defined on the API's app registration (see infra and docs/admin-api.md). */
export const INVITERS_READ_ROLE = 'Inviters.Read';
export const INVITERS_READ_WRITE_ROLE = 'Inviters.ReadWrite';

export type Access = 'read' | 'write';

/** The authorised caller, and the one line that records name them. */
export interface Caller extends ClientPrincipal {
  label: string;
}

/**
 * Identifies the caller from the App Service Authentication principal and checks its app role:
 * Inviters.Read to read, Inviters.ReadWrite to change (it also allows reading).
 * Throws ApiProblem 401 without a principal, 403 without the role.
 */
export function authorizeCaller(headers: Headers, access: Access): Caller {
  const principal = readClientPrincipal(headers);
  if (principal === undefined) {
    throw new ApiProblem(
      'unauthenticated',
      'The request carries no caller identity. Sign in with Entra ID and call the API with a ' +
        'bearer token for it; App Service Authentication then identifies the caller.',
      { headers: { 'www-authenticate': 'Bearer' } },
    );
  }

  const label = callerLabel(principal);
  const canWrite = principal.roles.includes(INVITERS_READ_WRITE_ROLE);
  const canRead = canWrite || principal.roles.includes(INVITERS_READ_ROLE);
  if (access === 'write' ? !canWrite : !canRead) {
    const role = access === 'write' ? INVITERS_READ_WRITE_ROLE : INVITERS_READ_ROLE;
    const what = access === 'write' ? 'change the allowlist' : 'read the allowlist';
    throw new ApiProblem(
      'forbidden',
      `${label} does not have the app role ${role}, which is needed to ${what}. ` +
        "Ask an administrator to assign it in the API's enterprise application.",
    );
  }

  return { ...principal, label };
}

/** A user by sign-in name; an app, which has none, by its appId or object id. */
export function callerLabel(principal: ClientPrincipal): string {
  if (principal.name !== undefined) {
    return principal.name;
  }
  if (principal.appId !== undefined) {
    return `app ${principal.appId}`;
  }

  return principal.objectId === undefined ? 'an unnamed caller' : `object ${principal.objectId}`;
}
