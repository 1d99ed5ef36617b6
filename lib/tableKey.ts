/**
 * Table Storage keys may not contain `/`, `\`, `#`, `?` or control characters (and guest
 * UPNs contain `#EXT#`). Those characters, and `%` itself so the encoding stays reversible,
 * are written as `%XX`. Every other character is kept, so keys stay readable in the portal.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what keys forbid.
const NEEDS_ENCODING = /[%/\\#?\u0000-\u001f\u007f-\u009f]/g;

export function encodeTableKey(value: string): string {
  return value.replace(
    NEEDS_ENCODING,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

export function decodeTableKey(key: string): string {
  return key.replace(/%([0-9A-F]{2})/g, (_match, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}
