import { z } from 'zod';

import { inviterKeyProblem, isDomainName, tryParseInviterKey } from './inviterKey';

export const MAX_ALLOWED_DOMAINS = 100;
export const MAX_NOTE_LENGTH = 1000;

/**
 * An ISO 8601 instant with a time zone: `2027-01-31T00:00:00Z` or with an offset, `T` and `Z`
 * in upper case as docs/openapi.json's Instant pattern has them. A date without a zone would
 * mean different instants on different machines.
 */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
/** What expiresAt had to match before the rule above: any case, and Date.parse decided the rest. */
const LENIENT_ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const INSTANT_FORMAT = 'must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z';
const LOWER_CASE_LETTERS =
  'must have T and Z in upper case, as ISO 8601 instants are written: e.g. 2027-01-31T00:00:00Z';
const NOT_A_REAL_INSTANT = 'is not a real date and time';

/** Why `value` is not an instant the API accepts, or undefined when it is one. */
export function instantProblem(value: string): string | undefined {
  const match = ISO_INSTANT.exec(value);
  if (match === null) {
    return LENIENT_ISO_INSTANT.test(value) ? LOWER_CASE_LETTERS : INSTANT_FORMAT;
  }

  const [year, month, day, hour, minute, second = 0, offsetHour = 0, offsetMinute = 0] = match
    .slice(1)
    .map((field) => (field === undefined ? undefined : Number(field)));
  // Date.parse rolls 2027-02-30 over to 2 March and T24:00 to the next day; a date that
  // does not come back field for field from Date.UTC is not on the calendar. (Years 0-99
  // never come back either, since Date.UTC reads them as 1900-1999: no expiry is that old.)
  const time = new Date(
    Date.UTC(year ?? NaN, (month ?? NaN) - 1, day ?? NaN, hour ?? NaN, minute ?? NaN, second),
  );
  const onTheCalendar =
    time.getUTCFullYear() === year &&
    time.getUTCMonth() === (month ?? NaN) - 1 &&
    time.getUTCDate() === day &&
    time.getUTCHours() === hour &&
    time.getUTCMinutes() === minute &&
    time.getUTCSeconds() === second;

  return onTheCalendar && offsetHour <= 23 && offsetMinute <= 59 ? undefined : NOT_A_REAL_INSTANT;
}

/** An instant as the API accepts it from a caller. */
export const instantSchema = z.string().superRefine((value, context) => {
  const problem = instantProblem(value);
  if (problem !== undefined) {
    context.addIssue({ code: 'custom', message: problem });
  }
});

/**
 * An instant as stored. Until the rule above, lower-case `t`/`z` and dates that JavaScript
 * rolls over (2027-02-30, T24:00) were accepted and stored, and refusing them now would make
 * the entry approve nothing and its history unreadable. So what the old rule accepted is read
 * and normalised: upper case when that is all it lacks, else the instant Date.parse always
 * took it to mean, which is what the detector matched by. Either way the same instant, in the
 * form the API documents.
 */
export const storedInstantSchema = z.string().transform((value, context) => {
  const upperCase = value.toUpperCase();
  if (instantProblem(upperCase) === undefined) {
    return upperCase;
  }

  const time = Date.parse(value);
  if (LENIENT_ISO_INSTANT.test(value) && !Number.isNaN(time)) {
    return new Date(time).toISOString();
  }

  context.addIssue({ code: 'custom', message: instantProblem(value) ?? NOT_A_REAL_INSTANT });

  return z.NEVER;
});

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

const allowedDomainsSchema = z
  .array(domainSchema)
  .min(1, 'must name at least one domain; leave allowedDomains out to allow any domain')
  .max(MAX_ALLOWED_DOMAINS, `at most ${MAX_ALLOWED_DOMAINS} domains`);
const noteSchema = z.string().max(MAX_NOTE_LENGTH, `at most ${MAX_NOTE_LENGTH} characters`);

/** The fields a caller may send for an entry besides its inviter: the API's PUT body. */
export const entryTermsSchema = z.strictObject({
  expiresAt: instantSchema.optional(),
  allowedDomains: allowedDomainsSchema.optional(),
  note: noteSchema.optional(),
});

/** An entry as a caller may write it: an import file's entries, checked like a PUT. */
export const writableAllowlistEntrySchema = z.strictObject({
  inviter: inviterSchema,
  ...entryTermsSchema.shape,
});

/**
 * An entry as it is read back: from the table, an allowlist file or the history. The same
 * rules, except that expiresAt is read as stored (see storedInstantSchema).
 */
export const allowlistEntrySchema = z.strictObject({
  ...writableAllowlistEntrySchema.shape,
  expiresAt: storedInstantSchema.optional(),
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
