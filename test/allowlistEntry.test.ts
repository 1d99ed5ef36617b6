import {
  allowlistEntrySchema,
  describeIssues,
  entryTermsSchema,
  instantProblem,
  writableAllowlistEntrySchema,
} from '../lib/allowlistEntry';

describe('expiresAt as a caller sends it', () => {
  it.each([
    '2027-01-31T00:00:00Z',
    '2027-01-31T00:00Z',
    '2028-02-29T23:59:59.999Z',
    '2027-12-31T23:59:59.123456789+14:00',
    '2027-06-30T12:00:00-09:30',
  ])('accepts %s', (value) => {
    expect(instantProblem(value)).toBeUndefined();
  });

  it.each([
    ['2027-02-30T00:00:00Z', 'is not a real date and time'],
    ['2027-02-29T00:00:00Z', 'is not a real date and time'],
    ['2030-02-30T24:00:00Z', 'is not a real date and time'],
    ['2030-01-01T24:00:00Z', 'is not a real date and time'],
    ['2030-01-01T23:60:00Z', 'is not a real date and time'],
    ['2030-01-01T23:59:60Z', 'is not a real date and time'],
    ['2030-13-01T00:00:00Z', 'is not a real date and time'],
    ['2030-00-10T00:00:00Z', 'is not a real date and time'],
    ['2030-01-01T00:00:00+24:00', 'is not a real date and time'],
    ['2030-01-01T00:00:00+01:60', 'is not a real date and time'],
    ['0030-01-01T00:00:00Z', 'is not a real date and time'],
    [
      '2030-01-01t00:00:00z',
      'must have T and Z in upper case, as ISO 8601 instants are written: e.g. 2027-01-31T00:00:00Z',
    ],
    [
      '2030-01-01T00:00:00z',
      'must have T and Z in upper case, as ISO 8601 instants are written: e.g. 2027-01-31T00:00:00Z',
    ],
    [
      '2030-01-01T00:00:00',
      'must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z',
    ],
    ['2030-01-01', 'must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z'],
  ])('refuses %s: %s', (value, problem) => {
    expect(instantProblem(value)).toBe(problem);
    expect(describeIssues(entryTermsSchema.safeParse({ expiresAt: value }).error!)).toEqual([
      `expiresAt: ${problem}`,
    ]);
  });
});

describe('expiresAt as it was stored', () => {
  it.each([
    ['a valid instant, kept as written', '2027-01-31T00:00+01:00', '2027-01-31T00:00+01:00'],
    ['lower-case t and z, upper-cased', '2030-01-01t00:00:00z', '2030-01-01T00:00:00Z'],
    [
      '30 February, as the instant it was taken for',
      '2027-02-30T00:00:00Z',
      '2027-03-02T00:00:00.000Z',
    ],
    ['hour 24, as the next midnight', '2030-02-30T24:00:00Z', '2030-03-03T00:00:00.000Z'],
  ])('reads %s', (_case, stored, read) => {
    const parsed = allowlistEntrySchema.parse({
      inviter: 'lena@northwind.example',
      expiresAt: stored,
    });

    expect(parsed.expiresAt).toBe(read);
    expect(instantProblem(read)).toBeUndefined();
    expect(Date.parse(read)).toBe(Date.parse(stored));
  });

  it('still refuses what was never an instant', () => {
    const parsed = allowlistEntrySchema.safeParse({
      inviter: 'lena@northwind.example',
      expiresAt: '2030-01-01T23:60:00Z',
    });

    expect(describeIssues(parsed.error!)).toEqual(['expiresAt: is not a real date and time']);
  });

  it('is not how import files are read: those follow the rules of a PUT', () => {
    const parsed = writableAllowlistEntrySchema.safeParse({
      inviter: 'lena@northwind.example',
      expiresAt: '2027-02-30T00:00:00Z',
    });

    expect(describeIssues(parsed.error!)).toEqual(['expiresAt: is not a real date and time']);
  });
});
