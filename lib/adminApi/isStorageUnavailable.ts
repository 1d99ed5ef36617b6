/** Statuses with which Table Storage says "not now" rather than "no". */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Errors the Azure SDK raises when it got no answer at all. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'REQUEST_SEND_ERROR',
]);
/** @azure/identity could not get a token, so storage cannot be reached as this identity. */
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError']);

/**
 * True when a storage call failed because storage could not be reached or was busy: the
 * request may succeed later (503), as opposed to a bug or a refusal (500).
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }

  const { name, code, statusCode } = error as {
    name?: unknown;
    code?: unknown;
    statusCode?: unknown;
  };
  if (typeof statusCode === 'number') {
    return TRANSIENT_STATUSES.has(statusCode);
  }
  if (typeof name === 'string' && CREDENTIAL_ERRORS.has(name)) {
    return true;
  }

  return typeof code === 'string' && NETWORK_CODES.has(code);
}
