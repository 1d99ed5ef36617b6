import { z } from 'zod';

import { inviterKeyProblem, isDomainName, tryParseInviterKey } from './inviterKey';

export const MAX_ALLOWED_DOMAINS = 100;
export const MAX_NOTE_LENGTH = 1000;

/**
 * An ISO 8601 instant with a time zone: `2027-01-31T00:00:00Z` or with an offset.
 * A date without a zone would mean different instants on different machines.
 */
const ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

export const instantSchema = z
  .string()
  .regex(ISO_INSTANT, 'must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z')
  .refine((value) => !Number.isNaN(Date.parse(value)), 'is not a real date and time');

export const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value) => (value.endsWith('.') ? value.slice(0, -1) : value))
  .refine(isDomainName, 'must be a domain name such as partner.example (IDNs in punycode)');

export const inviterSchema = z
  .string()
  .superRefine((value, context) => {
    const problem = inviterKeyProblem(value);
    if (problem !== undefined) {
      context.addIssue({ code: 'custom', message: problem });
    }
  })
  .transform((value) => tryParseInviterKey(value)?.value ?? value);

/** The fields an entry carries besides its inviter; shared by files, the store and the API. */
export const entryTermsSchema = z.strictObject({
  expiresAt: instantSchema.optional(),
  allowedDomains: z
    .array(domainSchema)
    .min(1, 'must name at least one domain; leave allowedDomains out to allow any domain')
    .max(MAX_ALLOWED_DOMAINS, `at most ${MAX_ALLOWED_DOMAINS} domains`)
    .optional(),
  note: z.string().max(MAX_NOTE_LENGTH, `at most ${MAX_NOTE_LENGTH} characters`).optional(),
});

export const allowlistEntrySchema = z.strictObject({
  inviter: inviterSchema,
  ...entryTermsSchema.shape,
});

/** One approved inviter. `inviter` is in normal form (see inviterKey). */
export type AllowlistEntry = z.infer<typeof allowlistEntrySchema>;

/** Every problem of a zod error as `path: message`, for messages people can act on. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length === 0 ? '(body)' : issue.path.join('.');

    return `${path}: ${issue.message}`;
  });
}
