/**
 * Makes attacker-chosen text (display names, UPNs, reasons) safe to show in an Adaptive Card:
 * no control characters, no Markdown that Teams would render (links, emphasis, headings),
 * and a bounded length so one long field cannot push the card past Teams' 28 KB limit.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is removed here.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;
const MARKDOWN = /[\\`*_{}[\]()#+\-.!|~<>]/g;

export function plainCardText(value: string | null | undefined, maxLength = 256): string {
  if (value === null || value === undefined || value === '') {
    return '—';
  }

  const cleaned = value.replace(CONTROL, '').replace(/[\r\n\t]+/g, ' ');
  const cut = cleaned.length > maxLength ? `${cleaned.slice(0, maxLength - 1)}…` : cleaned;

  return cut.replace(MARKDOWN, (character) => `\\${character}`);
}
