import { readFile } from 'node:fs/promises';

import { allowlistEntrySchema, describeIssues, type AllowlistEntry } from './allowlistEntry';
import { UnreadableFileError } from './readAuditFile';

/**
 * An allowlist file: a JSON array of entries, `{"inviter": ..., "expiresAt"?, "allowedDomains"?,
 * "note"?}`. Any invalid entry makes the whole file invalid, with every problem listed: a
 * half-read allowlist would silently approve less, or more, than its author meant.
 */
export async function readAllowlistFile(path: string): Promise<AllowlistEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UnreadableFileError(
      path,
      code === 'ENOENT' ? 'no such allowlist file' : 'the allowlist file cannot be read',
      { cause: error },
    );
  }

  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    throw new UnreadableFileError(path, `the allowlist is not valid JSON`, { cause: error });
  }
  if (!Array.isArray(document)) {
    throw new UnreadableFileError(
      path,
      'the allowlist must be a JSON array of entries like {"inviter": "alice@contoso.com"}',
    );
  }

  const entries: AllowlistEntry[] = [];
  const problems: string[] = [];
  // The allowlist holds one entry per inviter, so a second one would quietly replace the
  // first, with its own expiry and domains; which of the two was meant is the author's call.
  const firstEntryFor = new Map<string, number>();
  document.forEach((item: unknown, index) => {
    const parsed = allowlistEntrySchema.safeParse(item);
    if (!parsed.success) {
      problems.push(...describeIssues(parsed.error).map((issue) => `entry ${index}: ${issue}`));

      return;
    }

    const inviter = parsed.data.inviter;
    const earlier = firstEntryFor.get(inviter);
    if (earlier === undefined) {
      firstEntryFor.set(inviter, index);
    } else {
      problems.push(
        `entry ${index}: names the same inviter as entry ${earlier} (${inviter}); ` +
          'keep one entry per inviter',
      );
    }
    entries.push(parsed.data);
  });
  if (problems.length > 0) {
    throw new UnreadableFileError(path, `invalid allowlist entries:\n  ${problems.join('\n  ')}`);
  }

  return entries;
}
