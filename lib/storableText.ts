/**
 * Text as Table Storage keeps it: characters XML 1.0 forbids (most C0 controls, U+FFFE,
 * U+FFFF) and unpaired surrogates are what the service has refused in string properties, so
 * they become U+FFFD; the result is at most `maxLength` UTF-16 units, cut on a character
 * boundary. Records holding such characters outside JSON strings are not JSON anyway, so
 * nothing a replay could use is lost.
 */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- these control characters are the point.
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storableText(value: string, maxLength: number): string {
  const cleaned = value.replace(UNSTORABLE, '\ufffd');

  return cutText(cleaned, maxLength);
}

/** At most `maxLength` UTF-16 units, ending in `…` when cut, never splitting a surrogate pair. */
export function cutText(value: string, maxLength: number): string {
  if (value.length <= maxLength) {
    return value;
  }

  let end = Math.max(0, maxLength - 1);
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    end -= 1;
  }

  return `${value.slice(0, end)}…`;
}
