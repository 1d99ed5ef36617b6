/**
 * Makes attacker-chosen text (display names, UPNs, reasons) safe to show in an Adaptive Card:
 * no control characters, no Markdown that Teams would render (links, emphasis, lists,
 * headings), and a bounded length so one long field cannot push the card past Teams' 28 KB
 * limit. Only what could start Markdown is escaped, so that UPNs, addresses, GUIDs and times
 * read as written: a backslash shows as itself in clients that ignore escapes, and a SOC
 * analyst copies these values into searches.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is removed here.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;
// Always significant: escapes, code, emphasis with *, links and images ([...]), HTML-like
// tags, strikethrough, and Teams' {{DATE(...)}} functions.
const ALWAYS = /[\\`*[\]<>~{}]/g;
// `_` makes emphasis only at the edge of a word; inside one (`first_last#EXT#`) it is text.
const EDGE_UNDERSCORE = /(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu;
// At the start of a block: a quote, or a heading, list item or numbered item, which need a
// space after their marker (so an IP address such as 198.51.100.7 is no numbered item).
const BLOCK_START = /^(\s*)(?:([#+-](?=\s|$))|(>)|(\d{1,9})(?=[.)](?:\s|$)))/;

export function plainCardText(value: string | null | undefined, maxLength = 256): string {
  if (value === null || value === undefined || value === '') {
    return '—';
  }

  const cleaned = value.replace(CONTROL, '').replace(/[\r\n\t]+/g, ' ');
  const cut = cleaned.length > maxLength ? `${cleaned.slice(0, maxLength - 1)}…` : cleaned;

  return cut
    .replace(ALWAYS, (character) => `\\${character}`)
    .replace(EDGE_UNDERSCORE, '\\_')
    .replace(BLOCK_START, (_, space: string, marker?: string, quote?: string, digits?: string) =>
      digits === undefined ? `${space}\\${marker ?? quote ?? ''}` : `${space}${digits}\\`,
    );
}
