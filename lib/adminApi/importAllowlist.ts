import { describeIssues, writableAllowlistEntrySchema } from '../allowlistEntry';
import { describeProblem, type InvitersApiClient } from './invitersApiClient';

export interface ImportReport {
  imported: number;
  /** Entries left out on purpose (expired), one line each. */
  skipped: string[];
  /** Entries the file or the API got wrong, one line each. */
  failed: string[];
}

/**
 * PUTs each entry of an allowlist document (a JSON array of `{inviter, expiresAt?,
 * allowedDomains?, note?}`) through the API, so each change is checked, recorded and announced
 * like any other. A bad entry is reported and the rest go on; an entry whose expiry has passed
 * is skipped, since the API refuses past expiry dates.
 */
export async function importAllowlist(
  document: unknown,
  client: InvitersApiClient,
  now: Date,
  progress: (line: string) => void = () => undefined,
): Promise<ImportReport> {
  if (!Array.isArray(document)) {
    throw new TypeError(
      'the allowlist must be a JSON array of entries like {"inviter": "alice@contoso.com"}',
    );
  }

  const report: ImportReport = { imported: 0, skipped: [], failed: [] };
  for (const [index, item] of (document as unknown[]).entries()) {
    const parsed = writableAllowlistEntrySchema.safeParse(item);
    if (!parsed.success) {
      const line = `entry ${index}: ${describeIssues(parsed.error).join('; ')}`;
      report.failed.push(line);
      progress(line);
      continue;
    }

    const { inviter, ...terms } = parsed.data;
    const where = `entry ${index} (${inviter})`;
    if (terms.expiresAt !== undefined && Date.parse(terms.expiresAt) <= now.getTime()) {
      const line = `${where}: skipped, it expired at ${terms.expiresAt}`;
      report.skipped.push(line);
      progress(line);
      continue;
    }

    const outcome = await client.put(inviter, terms);
    if (outcome.ok) {
      report.imported += 1;
      progress(`${where}: ${outcome.status === 201 ? 'created' : 'replaced'}`);
    } else {
      const line = `${where}: HTTP ${outcome.problem.status}: ${describeProblem(outcome.problem)}`;
      report.failed.push(line);
      progress(line);
    }
  }

  return report;
}
