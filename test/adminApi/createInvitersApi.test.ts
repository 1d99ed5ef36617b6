import fc from 'fast-check';

import { toEntity } from '../../lib/tableAllowlistStore';
import {
  ADMIN,
  ADMIN_PRINCIPAL,
  READER,
  READER_PRINCIPAL,
  createHarness,
  entryPath,
  listed,
  type Harness,
} from '../support/adminApiHarness';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const clock = (): Date => NOW;

const PARTNER_LEAD = 'alice.morgan@fabrikam.example';
const GUEST_INVITER = 'Dana.Ito_partner.example#EXT#@fabrikam.onmicrosoft.com';
const GUEST_KEY = GUEST_INVITER.toLowerCase();
const APP_ID = '6A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D';

const TERMS = {
  expiresAt: '2027-01-31T00:00:00Z',
  allowedDomains: ['partner.example'],
  note: 'Partner programme; ticket SEC-2211',
};

function harness(): Harness {
  return createHarness({ now: clock });
}

describe('admin API: creating, reading, replacing and deleting entries', () => {
  it('creates an entry with PUT: 201, Location, ETag, and who created it from the caller', async () => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers.location).toBe(`/api/inviters/${encodeURIComponent(PARTNER_LEAD)}`);
    expect(response.headers.etag).toMatch(/^W\/"/);
    expect(response.body).toEqual({
      inviter: PARTNER_LEAD,
      ...TERMS,
      createdBy: ADMIN.name,
      createdAt: NOW.toISOString(),
      updatedBy: ADMIN.name,
      updatedAt: NOW.toISOString(),
      etag: response.headers.etag,
    });
  });

  it('reads the entry back with GET, with the same ETag', async () => {
    const api = harness();
    const created = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    const read = await api.send('GET', entryPath(PARTNER_LEAD), { principal: READER_PRINCIPAL });

    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe(created.headers.etag);
    expect(read.body).toEqual(created.body);
  });

  it('replaces an entry with PUT: 200, a new ETag, the creator kept and the changer recorded', async () => {
    let now = NOW;
    const api = createHarness({ now: () => now });
    const created = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    now = new Date('2026-06-02T08:30:00.000Z');
    const other = principalFor('sam.lee@fabrikam.example');

    const replaced = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: { note: 'any domain now' },
      principal: other,
    });

    expect(replaced.status).toBe(200);
    expect(replaced.headers.location).toBeUndefined();
    expect(replaced.headers.etag).not.toBe(created.headers.etag);
    expect(replaced.body).toEqual({
      inviter: PARTNER_LEAD,
      note: 'any domain now',
      createdBy: ADMIN.name,
      createdAt: NOW.toISOString(),
      updatedBy: 'sam.lee@fabrikam.example',
      updatedAt: '2026-06-02T08:30:00.000Z',
      etag: replaced.headers.etag,
    });
  });

  it('deletes an entry: 204, then GET and a second DELETE answer 404', async () => {
    const api = harness();
    await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    const deleted = await api.send('DELETE', entryPath(PARTNER_LEAD));
    const read = await api.send('GET', entryPath(PARTNER_LEAD));
    const again = await api.send('DELETE', entryPath(PARTNER_LEAD));

    expect(deleted.status).toBe(204);
    expect(deleted.raw.body).toBeUndefined();
    expect(read.status).toBe(404);
    expect(read.body.type).toBe('urn:guest-invite-detector:problem:not-found');
    expect(again.status).toBe(404);
  });

  it('lists every entry, and pages with top and nextLink without repeating the function key', async () => {
    const api = harness();
    const inviters = [
      'a.one@fabrikam.example',
      'b.two@fabrikam.example',
      'c.three@fabrikam.example',
    ];
    for (const inviter of inviters) {
      await api.send('PUT', entryPath(inviter), { json: {} });
    }

    const all = await api.send('GET', 'inviters');
    const first = await api.send('GET', 'inviters?top=2&code=secret-function-key');
    const next = new URL(first.body.nextLink as string);
    const second = await api.send('GET', `inviters${next.search}`);

    expect(all.status).toBe(200);
    expect(listed(all, 'inviter')).toEqual(inviters);
    expect(all.body.nextLink).toBeUndefined();
    expect(listed(first, 'inviter')).toEqual(inviters.slice(0, 2));
    expect(next.pathname).toBe('/api/inviters');
    expect([...next.searchParams.keys()]).toEqual(['top', 'continuation']);
    expect(listed(second, 'inviter')).toEqual([inviters[2]]);
    expect(second.body.nextLink).toBeUndefined();
  });

  it.each([
    ['top=0', 'top: must be a whole number from 1 to 1000'],
    ['top=1001', 'top: must be a whole number from 1 to 1000'],
    ['top=ten', 'top: must be a whole number from 1 to 1000'],
    [
      'continuation=not-a-token',
      'continuation: is not a token this API issued; follow nextLink as it is',
    ],
  ])('refuses the paging parameter %s with 400', async (query, error) => {
    const api = harness();

    const response = await api.send('GET', `inviters?${query}`);

    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([error]);
  });

  it('answers 405 with Allow for a method a path does not serve', async () => {
    const api = harness();

    const response = await api.send('POST', 'inviters', { json: {} });

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET');
  });
});

describe('admin API: inviter keys in the URL', () => {
  it('round-trips a guest UPN sent with #EXT# encoded as %23EXT%23, in normal form', async () => {
    const api = harness();

    const created = await api.send('PUT', entryPath(GUEST_INVITER), { json: {} });
    const read = await api.send('GET', entryPath(GUEST_KEY));
    const list = await api.send('GET', 'inviters');

    expect(entryPath(GUEST_INVITER)).toContain('%23EXT%23');
    expect(created.status).toBe(201);
    expect(created.body.inviter).toBe(GUEST_KEY);
    expect(read.status).toBe(200);
    expect(read.body.inviter).toBe(GUEST_KEY);
    expect(listed(list, 'inviter')).toEqual([GUEST_KEY]);
  });

  it('finds the entry when the host hands the route parameter over still encoded', async () => {
    const api = harness();
    await api.send('PUT', entryPath(GUEST_INVITER), { json: {} });
    const encoded = encodeURIComponent(GUEST_INVITER);

    const read = await api.send('GET', `inviters/${encoded}`, { params: { inviter: encoded } });

    expect(read.status).toBe(200);
    expect(read.body.inviter).toBe(GUEST_KEY);
  });

  it('refuses a raw "#": the rest is a fragment the server never sees, and says to use %23', async () => {
    const api = harness();

    const response = await api.send('PUT', `inviters/${GUEST_INVITER}`, { json: {} });

    expect(response.status).toBe(400);
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:invalid-inviter');
    expect(response.body.detail).toContain('%23EXT%23');
    expect(response.body.errors).toEqual([
      'inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ]);
  });

  it('normalises GUIDs (object ids, appIds) to lower case', async () => {
    const api = harness();

    const created = await api.send('PUT', entryPath(APP_ID), { json: { note: 'HR sync app' } });
    const read = await api.send('GET', entryPath(APP_ID.toLowerCase()));

    expect(created.body.inviter).toBe(APP_ID.toLowerCase());
    expect(read.status).toBe(200);
  });

  it.each([
    [
      'not-an-inviter',
      'inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ],
    ['a@b', 'inviter: the part of the user principal name after "@" is not a domain name'],
    [
      'two@at@fabrikam.example',
      'inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ],
    [
      'sp ace@fabrikam.example',
      'inviter: the part of the user principal name before "@" has characters a UPN cannot have',
    ],
    [
      '6a1b2c3d-4e5f-4a6b-8c7d',
      'inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ],
    [
      '%E0%A4%A',
      'inviter: the URL has a "%" that does not start a percent-encoded UTF-8 character; send a literal "%" as %25',
    ],
    [
      'a%ZZ@fabrikam.example',
      'inviter: the URL has a "%" that does not start a percent-encoded UTF-8 character; send a literal "%" as %25',
    ],
    [
      '.lena@fabrikam.example',
      'inviter: the part of the user principal name before "@" cannot start or end with a dot or have two dots in a row',
    ],
    [
      'lena.@fabrikam.example',
      'inviter: the part of the user principal name before "@" cannot start or end with a dot or have two dots in a row',
    ],
    [
      '.a..b.@fabrikam.example',
      'inviter: the part of the user principal name before "@" cannot start or end with a dot or have two dots in a row',
    ],
  ])('refuses %s with 400 before touching storage', async (segment, error) => {
    const api = harness();
    const getState = jest.spyOn(api.storage.allowlist, 'getEntryState');

    const response = await api.send('GET', `inviters/${segment}`);

    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([error]);
    expect(getState).not.toHaveBeenCalled();
  });

  it('refuses a PUT whose inviter has a malformed escape, which the host passes on as it is, and creates nothing', async () => {
    const api = harness();

    const response = await api.send('PUT', 'inviters/a%ZZ@fabrikam.example', { json: {} });
    const list = await api.send('GET', 'inviters');

    expect(response.status).toBe(400);
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:invalid-inviter');
    expect(list.body.value).toEqual([]);
    expect(api.notices).toEqual([]);
  });

  it('accepts a literal "%" sent as %25', async () => {
    const api = harness();

    const response = await api.send('PUT', 'inviters/a%25ZZ%40fabrikam.example', { json: {} });

    expect(response.status).toBe(201);
    expect(response.body.inviter).toBe('a%zz@fabrikam.example');
  });

  it('round-trips every valid UPN, whatever characters its local part holds', async () => {
    const api = harness();
    // Dots anywhere but at either end or two in a row, as Entra allows them.
    const localPart = fc
      .stringMatching(/^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,40}$/)
      .filter((local) => !/^\.|\.\.|\.$/.test(local));
    const upn = fc
      .tuple(localPart, fc.boolean())
      .map(([local, guest]) =>
        guest
          ? `${local}_partner.example#EXT#@fabrikam.onmicrosoft.com`
          : `${local}@fabrikam.example`,
      );

    await fc.assert(
      fc.asyncProperty(upn, async (inviter) => {
        const created = await api.send('PUT', entryPath(inviter), { json: { note: inviter } });
        const read = await api.send('GET', entryPath(inviter.toUpperCase()));

        expect(created.status).toBeLessThan(300);
        expect(read.status).toBe(200);
        expect(read.body.inviter).toBe(inviter.toLowerCase());
        expect(read.body.note).toBe(inviter);
      }),
      { numRuns: 40 },
    );
  });
});

describe('admin API: strict input', () => {
  it.each([
    ['no Content-Type', { raw: '{}' }, 415],
    ['text/plain', { raw: '{}', headers: { 'content-type': 'text/plain' } }, 415],
    [
      'a non-UTF-8 charset',
      { raw: '{}', headers: { 'content-type': 'application/json; charset=latin1' } },
      415,
    ],
    ['an empty body', { raw: '', headers: { 'content-type': 'application/json' } }, 400],
    ['broken JSON', { raw: '{"note": ', headers: { 'content-type': 'application/json' } }, 400],
    ['a body over 16 KB', { json: { note: 'x'.repeat(17_000) } }, 413],
    [
      'a declared length over 16 KB',
      { raw: '{}', headers: { 'content-type': 'application/json', 'content-length': '20000' } },
      413,
    ],
  ])('refuses %s', async (_case, options, status) => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), options);

    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(Object.keys(response.body as object).sort()).toEqual(
      ['detail', 'errors', 'invocationId', 'status', 'title', 'type'].sort(),
    );
    expect(response.body.status).toBe(status);
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).status).toBe(404);
  });

  it.each([
    [
      'an unknown field, naming the allowed ones',
      { inviter: 'eve@fabrikam.example', expires: '2027-01-01T00:00:00Z' },
      [
        'inviter: is not a field of an allowlist entry (allowed: expiresAt, allowedDomains, note)',
        'expires: is not a field of an allowlist entry (allowed: expiresAt, allowedDomains, note)',
      ],
    ],
    [
      'an expiry without a time zone',
      { expiresAt: '2027-01-31T00:00:00' },
      ['expiresAt: must be an ISO 8601 instant with a time zone, e.g. 2027-01-31T00:00:00Z'],
    ],
    [
      'an expiry with a lower-case t and z',
      { expiresAt: '2030-01-01t00:00:00z' },
      [
        'expiresAt: must have T and Z in upper case, as ISO 8601 instants are written: e.g. 2027-01-31T00:00:00Z',
      ],
    ],
    [
      'an expiry on 30 February',
      { expiresAt: '2027-02-30T00:00:00Z' },
      ['expiresAt: is not a real date and time'],
    ],
    [
      'an expiry at hour 24 of 30 February',
      { expiresAt: '2030-02-30T24:00:00Z' },
      ['expiresAt: is not a real date and time'],
    ],
    [
      'an expiry at hour 24 of a real day',
      { expiresAt: '2030-01-01T24:00:00Z' },
      ['expiresAt: is not a real date and time'],
    ],
    [
      'an expiry with an offset of 24 hours',
      { expiresAt: '2030-01-01T00:00:00+24:00' },
      ['expiresAt: is not a real date and time'],
    ],
    [
      'an expiry in the past',
      { expiresAt: '2026-05-31T00:00:00Z' },
      ['expiresAt: must be in the future; to end an approval now, DELETE the entry instead'],
    ],
    [
      'a domain that is not a domain name',
      { allowedDomains: ['partner.example', 'https://evil.example/'] },
      ['allowedDomains.1: must be a domain name such as partner.example (IDNs in punycode)'],
    ],
    [
      'an IP address as a domain',
      { allowedDomains: ['partner.example', '10.0.0.1'] },
      ['allowedDomains.1: must be a domain name such as partner.example (IDNs in punycode)'],
    ],
    [
      'the same domain twice',
      { allowedDomains: ['partner.example', 'PARTNER.example.'] },
      ['allowedDomains.1: lists partner.example a second time'],
    ],
    [
      'an empty domain list',
      { allowedDomains: [] },
      [
        'allowedDomains: must name at least one domain; leave allowedDomains out to allow any domain',
      ],
    ],
    [
      'more than 100 domains',
      { allowedDomains: Array.from({ length: 101 }, (_, index) => `d${index}.example`) },
      ['allowedDomains: at most 100 domains'],
    ],
    ['a note over 1000 characters', { note: 'n'.repeat(1001) }, ['note: at most 1000 characters']],
    [
      'a note with control characters',
      { note: 'ok\u0007bell' },
      ['note: must be plain text; control characters other than line breaks and tabs are refused'],
    ],
    ['an array', [TERMS], ['(body): Invalid input: expected object, received array']],
  ])('refuses %s with 400 and says what to fix', async (_case, body, errors) => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: body });

    expect(response.status).toBe(400);
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:invalid-entry');
    expect(response.body.errors).toEqual(errors);
  });

  it.each([
    '2028-02-29T23:59:59Z',
    '2027-01-31T00:00+05:30',
    '2027-12-31T23:59:59.123456789-08:00',
  ])('accepts the real instant %s as sent', async (expiresAt) => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: { expiresAt } });

    expect(response.status).toBe(201);
    expect(response.body.expiresAt).toBe(expiresAt);
  });

  it('accepts domains with numeric labels other than the last', async () => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: { allowedDomains: ['10.partner.example', '365partner.example'] },
    });

    expect(response.status).toBe(201);
    expect(response.body.allowedDomains).toEqual(['10.partner.example', '365partner.example']);
  });

  it('stores domains in normal form: lower case, without a trailing dot', async () => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: { allowedDomains: ['Partner.Example.', 'eu.partner.example'] },
    });

    expect(response.body.allowedDomains).toEqual(['partner.example', 'eu.partner.example']);
  });
});

describe('admin API: conditional requests', () => {
  it('replaces with a current If-Match and refuses a stale one with 412', async () => {
    const api = harness();
    const created = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    const etag = created.headers.etag as string;

    const replaced = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: { note: 'v2' },
      headers: { 'if-match': etag },
    });
    const stale = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: { note: 'v3' },
      headers: { 'if-match': etag },
    });

    expect(replaced.status).toBe(200);
    expect(stale.status).toBe(412);
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).body.note).toBe('v2');
  });

  it('answers 412 to If-Match when there is no entry, and creates nothing', async () => {
    const api = harness();

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), {
      json: TERMS,
      headers: { 'if-match': '*' },
    });

    expect(response.status).toBe(412);
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).status).toBe(404);
  });

  it('creates only with If-None-Match: * (201), and refuses to replace with it (412)', async () => {
    const api = harness();
    const createOnly = { json: TERMS, headers: { 'if-none-match': '*' } };

    const created = await api.send('PUT', entryPath(PARTNER_LEAD), createOnly);
    const again = await api.send('PUT', entryPath(PARTNER_LEAD), {
      ...createOnly,
      json: { note: 'should not land' },
    });

    expect(created.status).toBe(201);
    expect(again.status).toBe(412);
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).body.note).toBe(TERMS.note);
  });

  it('deletes with a current If-Match, and refuses a stale one with 412', async () => {
    const api = harness();
    const created = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    const updated = await api.send('PUT', entryPath(PARTNER_LEAD), { json: { note: 'v2' } });

    const stale = await api.send('DELETE', entryPath(PARTNER_LEAD), {
      headers: { 'if-match': created.headers.etag as string },
    });
    const current = await api.send('DELETE', entryPath(PARTNER_LEAD), {
      headers: { 'if-match': updated.headers.etag as string },
    });

    expect(stale.status).toBe(412);
    expect(current.status).toBe(204);
  });

  it.each([
    [
      'PUT',
      { 'if-match': 'not-quoted' },
      'If-Match: must be "*" or exactly one ETag as the API returned it, quotes included',
    ],
    [
      'PUT',
      { 'if-match': '"a", "b"' },
      'If-Match: must be "*" or exactly one ETag as the API returned it, quotes included',
    ],
    [
      'PUT',
      { 'if-none-match': '"abc"' },
      'If-None-Match: only "*" is supported (create the entry only if it does not exist)',
    ],
    ['DELETE', { 'if-none-match': '*' }, 'If-None-Match: is not supported on DELETE; use If-Match'],
    [
      'PUT',
      { 'if-match': '*', 'if-none-match': '*' },
      'If-Match and If-None-Match: send one or the other, not both',
    ],
  ])('refuses %s with %j: 400', async (method, headers, error) => {
    const api = harness();

    const response = await api.send(method, entryPath(PARTNER_LEAD), { json: {}, headers });

    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([error]);
  });

  it('lets exactly one of two writers with the same If-Match win; the other gets 412', async () => {
    const api = harness();
    for (let round = 0; round < 5; round += 1) {
      const current = await api.send('GET', entryPath(PARTNER_LEAD));
      const etag =
        current.status === 200
          ? (current.headers.etag as string)
          : ((await api.send('PUT', entryPath(PARTNER_LEAD), { json: {} })).headers.etag as string);

      const answers = await Promise.all(
        ['writer A', 'writer B'].map((note) =>
          api.send('PUT', entryPath(PARTNER_LEAD), {
            json: { note },
            headers: { 'if-match': etag },
          }),
        ),
      );

      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
      const winner = answers.find((answer) => answer.status === 200);
      expect((await api.send('GET', entryPath(PARTNER_LEAD))).body.note).toBe(winner?.body.note);
    }
  });

  it('lets exactly one of two deletes with the same If-Match win', async () => {
    const api = harness();
    const created = await api.send('PUT', entryPath(PARTNER_LEAD), { json: {} });
    const etag = created.headers.etag as string;

    const answers = await Promise.all([
      api.send('DELETE', entryPath(PARTNER_LEAD), { headers: { 'if-match': etag } }),
      api.send('DELETE', entryPath(PARTNER_LEAD), { headers: { 'if-match': etag } }),
    ]);

    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 412]);
    expect(api.notices.map((notice) => notice.action)).toEqual(['create', 'delete']);
  });

  it('lets exactly one of two create-only writers win', async () => {
    const api = harness();

    const answers = await Promise.all(
      ['first', 'second'].map((note) =>
        api.send('PUT', entryPath(PARTNER_LEAD), {
          json: { note },
          headers: { 'if-none-match': '*' },
        }),
      ),
    );

    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 412]);
  });

  it('serialises two unconditional writers: one creates, the other replaces what it saw', async () => {
    let tick = 0;
    // Audit records of the same millisecond have no defined order; a ticking clock gives one.
    const api = createHarness({ now: () => new Date(NOW.getTime() + (tick += 1)) });

    const answers = await Promise.all(
      ['first', 'second'].map((note) =>
        api.send('PUT', entryPath(PARTNER_LEAD), { json: { note } }),
      ),
    );

    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 201]);
    const history = await api.send('GET', entryPath(PARTNER_LEAD, '/history'));
    expect(listed(history, 'action')).toEqual(['update', 'create']);
    const [update, create] = history.body.value;
    expect(update.before).toEqual(create.after);
  });
});

describe('admin API: who may call it', () => {
  const routes: [string, string][] = [
    ['GET', 'inviters'],
    ['GET', entryPath(PARTNER_LEAD)],
    ['PUT', entryPath(PARTNER_LEAD)],
    ['DELETE', entryPath(PARTNER_LEAD)],
    ['GET', entryPath(PARTNER_LEAD, '/history')],
  ];

  it.each(routes)('%s %s without a principal: 401 with WWW-Authenticate', async (method, path) => {
    const api = harness();

    const response = await api.send(method, path, { principal: null, json: {} });

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:unauthenticated');
  });

  it.each([
    ['not base64', '%%%not-base64%%%'],
    ['base64 of text', Buffer.from('hello').toString('base64')],
    ['base64 JSON without claims', Buffer.from('{"auth_typ":"aad"}').toString('base64')],
    ['claims of the wrong shape', Buffer.from('{"claims":[{"typ":1}]}').toString('base64')],
  ])('answers 401 to a principal that is %s', async (_case, principal) => {
    const api = harness();

    const response = await api.send('GET', 'inviters', { principal });

    expect(response.status).toBe(401);
    expect(response.body.detail).toContain('x-ms-client-principal');
  });

  it('lets Inviters.Read read everything but change nothing (403 names the role)', async () => {
    const api = harness();
    await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    const asReader = { principal: READER_PRINCIPAL };

    const reads = await Promise.all([
      api.send('GET', 'inviters', asReader),
      api.send('GET', entryPath(PARTNER_LEAD), asReader),
      api.send('GET', entryPath(PARTNER_LEAD, '/history'), asReader),
    ]);
    const put = await api.send('PUT', entryPath(PARTNER_LEAD), { ...asReader, json: {} });
    const del = await api.send('DELETE', entryPath(PARTNER_LEAD), asReader);

    expect(reads.map((read) => read.status)).toEqual([200, 200, 200]);
    expect(put.status).toBe(403);
    expect(del.status).toBe(403);
    expect(put.body.detail).toBe(
      `${READER.name} does not have the app role Inviters.ReadWrite, which is needed to change ` +
        "the allowlist. Ask an administrator to assign it in the API's enterprise application.",
    );
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).body.note).toBe(TERMS.note);
  });

  it('answers 403 to a signed-in caller with no role, even for reads', async () => {
    const api = harness();

    const response = await api.send('GET', 'inviters', {
      principal: principalFor('mallory@fabrikam.example', []),
    });

    expect(response.status).toBe(403);
  });

  it.each([
    [
      'the long role claim URI',
      { roleClaim: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role' },
    ],
    [
      'the claim type role_typ names',
      { roleClaim: 'urn:fabrikam:app-role', roleType: 'urn:fabrikam:app-role' },
    ],
  ])('accepts Inviters.ReadWrite arriving under %s', async (_case, shape) => {
    const api = harness();
    const principal = principalFor(ADMIN.name, ['Inviters.ReadWrite'], shape);

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { principal, json: {} });

    expect(response.status).toBe(201);
  });

  it('does not take a role from an unrelated claim type', async () => {
    const api = harness();
    const principal = principalFor(ADMIN.name, ['Inviters.ReadWrite'], { roleClaim: 'groups' });

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { principal, json: {} });

    expect(response.status).toBe(403);
  });

  it('records an application caller by its appId', async () => {
    const api = harness();
    const principal = principalFor(undefined, ['Inviters.ReadWrite'], {
      appId: '11112222-3333-4444-8555-666677778888',
    });

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { principal, json: {} });

    expect(response.body.createdBy).toBe('app 11112222-3333-4444-8555-666677778888');
  });

  it.each(routes)(
    'fails closed in App Service without authentication: %s %s answers 503 and logs an error',
    async (method, path) => {
      const api = createHarness({ env: { WEBSITE_INSTANCE_ID: 'f0e1d2c3b4a5' } });
      const getState = jest.spyOn(api.storage.allowlist, 'getEntryState');

      const response = await api.send(method, path, { json: {} });

      expect(response.status).toBe(503);
      expect(response.body.type).toBe(
        'urn:guest-invite-detector:problem:authentication-not-configured',
      );
      expect(getState).not.toHaveBeenCalled();
      expect(api.logs.filter((line) => line.level === 'error')).toHaveLength(1);
    },
  );

  it('fails closed outside App Service too (a container), and logs what is missing', async () => {
    const api = createHarness({ env: { CONTAINER_APP_NAME: 'ca-gid-prod' } });

    const response = await api.send('GET', 'inviters');

    expect(response.status).toBe(503);
    expect(response.body.type).toBe(
      'urn:guest-invite-detector:problem:authentication-not-configured',
    );
    expect(api.logs.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
      'Admin API refused GET /api/inviters: nothing vouches for the caller: WEBSITE_AUTH_ENABLED ' +
        'is not True (App Service Authentication is off, or this is not App Service) and this is ' +
        'not local development (AZURE_FUNCTIONS_ENVIRONMENT is not Development, as func start ' +
        'sets it). Enable App Service Authentication (Entra ID) on the function app; outside App ' +
        'Service the admin API serves only local development (func start, or the serve command).',
    ]);
  });

  it.each([
    [{ WEBSITE_SITE_NAME: 'func-gid-prod', WEBSITE_AUTH_ENABLED: 'false' }, 503],
    [{ WEBSITE_SITE_NAME: 'func-gid-prod', WEBSITE_AUTH_ENABLED: '' }, 503],
    [{ WEBSITE_SITE_NAME: 'func-gid-prod', AZURE_FUNCTIONS_ENVIRONMENT: 'Development' }, 503],
    [{ WEBSITE_SITE_NAME: 'func-gid-prod', WEBSITE_AUTH_ENABLED: 'True' }, 200],
    [{ WEBSITE_INSTANCE_ID: 'f0e1d2c3b4a5', WEBSITE_AUTH_ENABLED: 'true' }, 200],
    [{}, 503],
    [{ CONTAINER_APP_NAME: 'ca-gid-prod' }, 503],
    [{ AZURE_FUNCTIONS_ENVIRONMENT: 'Production' }, 503],
    [{ AZURE_FUNCTIONS_ENVIRONMENT: 'Development' }, 200],
    [{ WEBSITE_AUTH_ENABLED: 'True' }, 200],
  ])('with %j serves status %s', async (env, status) => {
    const api = createHarness({ env });

    const response = await api.send('GET', 'inviters');

    expect(response.status).toBe(status);
  });

  it('trusts the principal header in local mode, which says so explicitly', async () => {
    const api = createHarness({ env: {}, localMode: true });

    const response = await api.send('GET', 'inviters');

    expect(response.status).toBe(200);
  });
});

describe('admin API: storage trouble', () => {
  it('answers 503 when no storage is configured, after checking the caller', async () => {
    const api = createHarness({ storage: undefined });

    const anonymous = await api.send('GET', 'inviters', { principal: null });
    const admin = await api.send('GET', 'inviters');

    expect(anonymous.status).toBe(401);
    expect(admin.status).toBe(503);
    expect(admin.body.type).toBe('urn:guest-invite-detector:problem:storage-not-configured');
  });

  it('answers 503 with Retry-After when storage cannot be reached', async () => {
    const api = harness();
    jest.spyOn(api.storage.allowlist, 'getEntryState').mockRejectedValue(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.4:443'), {
        name: 'RestError',
        code: 'ECONNREFUSED',
      }),
    );

    const response = await api.send('GET', entryPath(PARTNER_LEAD));

    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:storage-unavailable');
    expect(JSON.stringify(response.body)).not.toContain('10.0.0.4');
  });

  it('answers 500 with a generic message and the invocation id, and logs the error', async () => {
    const api = harness();
    jest
      .spyOn(api.storage.allowlist, 'listPage')
      .mockRejectedValue(new TypeError('Cannot read properties of undefined (reading "rowKey")'));

    const response = await api.send('GET', 'inviters');

    expect(response.status).toBe(500);
    expect(response.body).toEqual({
      type: 'urn:guest-invite-detector:problem:internal-error',
      title: 'Internal error',
      status: 500,
      detail: `An unexpected error occurred. Give the operators invocation id ${response.body.invocationId} to find what happened.`,
      errors: [],
      invocationId: expect.stringMatching(/^00000000-0000-4000-8000-/),
    });
    expect(JSON.stringify(response.body)).not.toMatch(/rowKey|TypeError|\n\s+at /);
    expect(api.logs.some((line) => line.level === 'error' && line.message.includes('rowKey'))).toBe(
      true,
    );
  });

  it('answers 503 audit-unavailable when the audit record cannot be written after three tries, though the change stands, is announced and is logged in full', async () => {
    const api = harness();
    const append = jest
      .spyOn(api.storage.auditLog, 'append')
      .mockRejectedValue(Object.assign(new Error('audit table gone'), { statusCode: 503 }));

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    expect(append).toHaveBeenCalledTimes(3);
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('30');
    expect(response.body).toEqual({
      type: 'urn:guest-invite-detector:problem:audit-unavailable',
      title: 'The change was applied, but its audit record could not be written',
      status: 503,
      detail:
        `The create of the allowlist entry for ${PARTNER_LEAD} WAS applied and its change notice ` +
        "was still sent, but its audit record could not be written (3 tries): the audit table's " +
        "storage did not take it. The whole record is in the app's error log under invocation " +
        `id ${response.body.invocationId}. Nothing needs repeating: GET the entry to see it. ` +
        'Check the audit table (ALLOWLIST_AUDIT_TABLE) and its storage, and retry further ' +
        'changes later, once it works again.',
      errors: [],
      invocationId: expect.stringMatching(/^00000000-0000-4000-8000-/),
    });
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).body.note).toBe(TERMS.note);
    expect(api.notices.map((notice) => notice.action)).toEqual(['create']);
    const errors = api.logs.filter((line) => line.message.startsWith('Audit record NOT written'));
    expect(errors.map((line) => line.level)).toEqual(['error']);
    const record = JSON.parse(errors[0]?.message.split('The record, in full: ')[1] ?? '{}');
    expect(record).toEqual({
      id: api.notices[0]?.id,
      inviter: PARTNER_LEAD,
      action: 'create',
      before: null,
      after: { inviter: PARTNER_LEAD, ...TERMS },
      changedBy: ADMIN.name,
      changedByObjectId: ADMIN.objectId,
      changedByAppId: null,
      changedAt: NOW.toISOString(),
      clientIp: '198.51.100.23',
      invocationId: response.body.invocationId,
    });
  });

  it('answers 503 audit-unavailable to a DELETE whose record cannot be written; the entry is gone', async () => {
    const api = harness();
    await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    jest.spyOn(api.storage.auditLog, 'append').mockRejectedValue(new Error('audit table gone'));

    const response = await api.send('DELETE', entryPath(PARTNER_LEAD));

    expect(response.status).toBe(503);
    expect(response.body.type).toBe('urn:guest-invite-detector:problem:audit-unavailable');
    expect(response.body.detail).toMatch(/^The delete of the allowlist entry for .* WAS applied/);
    expect((await api.send('GET', entryPath(PARTNER_LEAD))).status).toBe(404);
    expect(api.notices.map((notice) => notice.action)).toEqual(['create', 'delete']);
  });

  it('writes the audit record on a retry after a transient failure, and answers the change', async () => {
    const api = harness();
    const append = jest
      .spyOn(api.storage.auditLog, 'append')
      .mockRejectedValueOnce(
        Object.assign(new Error('Server Busy'), { name: 'RestError', statusCode: 503 }),
      );

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    const history = await api.send('GET', entryPath(PARTNER_LEAD, '/history'));

    expect(response.status).toBe(201);
    expect(append).toHaveBeenCalledTimes(2);
    expect(listed(history, 'action')).toEqual(['create']);
    expect(api.logs.filter((line) => line.level === 'warning').map((line) => line.message)).toEqual(
      [
        `Audit record ${api.notices[0]?.id} written on attempt 2 after: RestError (HTTP 503): Server Busy`,
      ],
    );
  });

  it('takes "already exists" on a retry as the earlier try having landed, and keeps one record', async () => {
    const api = harness();
    const append = api.storage.auditLog.append.bind(api.storage.auditLog);
    jest.spyOn(api.storage.auditLog, 'append').mockImplementationOnce(async (change, options) => {
      // Written, but the answer was lost: the caller saw a timeout.
      await append(change, options);
      throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    });

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });
    const history = await api.send('GET', entryPath(PARTNER_LEAD, '/history'));

    expect(response.status).toBe(201);
    expect(listed(history, 'action')).toEqual(['create']);
  });

  it('still answers the change when the notice cannot be sent, and logs that', async () => {
    const api = createHarness({
      now: clock,
      notifier: {
        destinationKeys: () => [],
        announce: () => Promise.reject(new Error('teams#1 is down')),
      },
    });

    const response = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    expect(response.status).toBe(201);
    expect(
      api.logs.some((line) => line.level === 'error' && line.message.includes('teams#1 is down')),
    ).toBe(true);
  });

  it.each([
    ['a lower-case t and z', '2030-01-01t00:00:00z', '2030-01-01T00:00:00Z'],
    [
      '30 February, which JavaScript rolls over',
      '2027-02-30T00:00:00Z',
      '2027-03-02T00:00:00.000Z',
    ],
    ['hour 24', '2030-01-01T24:00:00Z', '2030-01-02T00:00:00.000Z'],
  ])(
    'still reads an entry stored before the stricter rule with %s, as the same instant in documented form',
    async (_case, stored, shown) => {
      const api = harness();
      await api.storage.ensureTables();
      await (
        api.storage.allowlist as unknown as {
          client: { createEntity(e: object): Promise<unknown> };
        }
      ).client.createEntity({ ...toEntity({ inviter: PARTNER_LEAD }, {}), expiresAt: stored });

      const read = await api.send('GET', entryPath(PARTNER_LEAD));

      expect(read.status).toBe(200);
      expect(read.body.expiresAt).toBe(shown);
      expect(Date.parse(read.body.expiresAt as string)).toBe(Date.parse(stored));
    },
  );

  it('shows an invalid stored entity as 409 and in the listing, and lets PUT replace it', async () => {
    const api = harness();
    await api.storage.ensureTables();
    const entity = {
      ...toEntity({ inviter: PARTNER_LEAD }, {}),
      allowedDomains: '["not a domain"]',
    };
    // A hand edit in the portal: exactly what the API itself never writes.
    await (
      api.storage.allowlist as unknown as { client: { createEntity(e: object): Promise<unknown> } }
    ).client.createEntity(entity);

    const read = await api.send('GET', entryPath(PARTNER_LEAD));
    const list = await api.send('GET', 'inviters');
    const replaced = await api.send('PUT', entryPath(PARTNER_LEAD), { json: TERMS });

    expect(read.status).toBe(409);
    expect(read.body.errors).toEqual([
      `allowlist entity "${PARTNER_LEAD}": allowedDomains.0: must be a domain name such as partner.example (IDNs in punycode)`,
    ]);
    expect(list.body.value).toEqual([]);
    expect(list.body.problems).toEqual(read.body.errors);
    expect(replaced.status).toBe(200);
    expect(api.notices.map((notice) => [notice.action, notice.before])).toEqual([['update', null]]);
  });
});

function principalFor(
  name: string | undefined,
  roles: string[] = ['Inviters.ReadWrite'],
  extra: { roleClaim?: string; roleType?: string; appId?: string } = {},
): string {
  const claims: { typ: string; val: string }[] = [];
  if (name !== undefined) claims.push({ typ: 'preferred_username', val: name });
  if (extra.appId !== undefined) claims.push({ typ: 'appid', val: extra.appId });
  for (const role of roles) claims.push({ typ: extra.roleClaim ?? 'roles', val: role });

  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims,
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
      role_typ: extra.roleType ?? 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    }),
  ).toString('base64');
}

// Keeps the admin principal import meaningful for readers: it is what send() uses by default.
void ADMIN_PRINCIPAL;
