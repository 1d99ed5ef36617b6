/**
 * The one identity an allowlist entry names: a user principal name, or a GUID that is a user
 * object id, an appId or a servicePrincipalId. Keys are compared in this normal form only,
 * never as substrings.
 */
export interface InviterKey {
  kind: 'upn' | 'guid';
  /** Lower case, trimmed. */
  value: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 5322 atext plus dots: Entra derives guest UPNs from email local parts, then adds #EXT#.
const UPN_LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}$/i;
/**
 * Microsoft 365's UPN rules (support article 2439357) allow a period anywhere in the user name
 * except at its start or end, and an email local part (which guest UPNs are built from) has no
 * two periods in a row, so no real Entra UPN can fail this.
 */
const MISPLACED_DOT = /^\.|\.\.|\.$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** An all-digit last label makes an IP address literal (10.0.0.1), never a domain name. */
const NUMERIC_LABEL = /^\d+$/;
const MAX_UPN_LENGTH = 256;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/**
 * An invitee email domain: a DNS name of at least two labels, in ASCII (IDNs as punycode),
 * without a trailing dot, and not an IPv4 address: no top-level domain is all digits.
 */
export function isDomainName(value: string): boolean {
  return isDnsName(value) && !NUMERIC_LABEL.test(value.slice(value.lastIndexOf('.') + 1));
}

/**
 * A DNS name of at least two labels, in ASCII (IDNs as punycode), without a trailing dot. A
 * UPN suffix is only checked this far: it is matched exactly against what Entra writes in
 * its audit records, where only verified domains appear, so refusing more would gain nothing.
 */
function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) {
    return false;
  }

  const labels = value.split('.');

  return labels.length >= 2 && labels.every((label) => DOMAIN_LABEL.test(label));
}

/** Why `input` is not a valid inviter key, or undefined when it is one. */
export function inviterKeyProblem(input: string): string | undefined {
  const value = input.trim();
  if (value === '') {
    return 'the inviter is empty';
  }
  if (isGuid(value)) {
    return undefined;
  }
  if (value.length > MAX_UPN_LENGTH) {
    return `the inviter is longer than ${MAX_UPN_LENGTH} characters`;
  }

  const at = value.lastIndexOf('@');
  if (at <= 0 || value.indexOf('@') !== at) {
    return 'the inviter must be a user principal name (name@domain) or a GUID';
  }
  const local = value.slice(0, at);
  if (!UPN_LOCAL.test(local)) {
    return 'the part of the user principal name before "@" has characters a UPN cannot have';
  }
  if (MISPLACED_DOT.test(local)) {
    return (
      'the part of the user principal name before "@" cannot start or end with a dot or have ' +
      'two dots in a row'
    );
  }
  if (!isDnsName(value.slice(at + 1))) {
    return 'the part of the user principal name after "@" is not a domain name';
  }

  return undefined;
}

/** The normal form of a valid key, or undefined when `input` is not one. */
export function tryParseInviterKey(input: string): InviterKey | undefined {
  if (inviterKeyProblem(input) !== undefined) {
    return undefined;
  }

  const value = input.trim().toLowerCase();

  return { kind: isGuid(value) ? 'guid' : 'upn', value };
}
