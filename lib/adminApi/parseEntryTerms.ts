import { z } from 'zod';

import { describeIssues, entryTermsSchema } from '../allowlistEntry';
import { ApiProblem } from './apiProblem';

export type EntryTerms = z.infer<typeof entryTermsSchema>;

const FIELDS = Object.keys(entryTermsSchema.shape).join(', ');
// eslint-disable-next-line no-control-regex -- control characters are what is refused here.
const CONTROL_EXCEPT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * The body of a PUT as entry terms: only expiresAt (a future ISO 8601 instant), allowedDomains
 * (distinct domain names) and note (plain text). Throws ApiProblem 400 listing every problem.
 */
export function parseEntryTerms(body: unknown, now: Date): EntryTerms {
  const parsed = entryTermsSchema.safeParse(body);
  if (!parsed.success) {
    throw invalid(describeEntryIssues(parsed.error));
  }

  const terms = parsed.data;
  const errors: string[] = [];
  if (terms.expiresAt !== undefined && Date.parse(terms.expiresAt) <= now.getTime()) {
    errors.push(
      'expiresAt: must be in the future; to end an approval now, DELETE the entry instead',
    );
  }
  const seen = new Set<string>();
  terms.allowedDomains?.forEach((domain, index) => {
    if (seen.has(domain)) {
      errors.push(`allowedDomains.${index}: lists ${domain} a second time`);
    }
    seen.add(domain);
  });
  if (terms.note !== undefined && CONTROL_EXCEPT_LINE_BREAKS.test(terms.note)) {
    errors.push(
      'note: must be plain text; control characters other than line breaks and tabs are refused',
    );
  }
  if (errors.length > 0) {
    throw invalid(errors);
  }

  return terms;
}

function invalid(errors: string[]): ApiProblem {
  return new ApiProblem(
    'invalid-entry',
    `Fix the fields listed in errors and send the entry again. The body is a JSON object with the optional fields ${FIELDS}; the inviter comes from the URL.`,
    { errors },
  );
}

/**
 * One line per problem, the first per field only: a malformed expiresAt also fails the later
 * "real date" check, and saying so twice helps nobody. Unknown fields are named one by one.
 */
function describeEntryIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  const reported = new Set<string>();
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${key}: is not a field of an allowlist entry (allowed: ${FIELDS})`);
      }
      continue;
    }

    const path = issue.path.join('.');
    if (!reported.has(path)) {
      reported.add(path);
      lines.push(...describeIssues(new z.ZodError([issue])));
    }
  }

  return lines;
}
