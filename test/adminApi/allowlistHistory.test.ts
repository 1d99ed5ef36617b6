import {
  ADMIN,
  READER_PRINCIPAL,
  createHarness,
  entryPath,
  listed,
  principalHeader,
  type SentResponse,
} from '../support/adminApiHarness';

const INVITER = 'alice.morgan@fabrikam.example';
const OTHER = 'sam.lee@fabrikam.example';
const APP_CALLER = '11112222-3333-4444-8555-666677778888';

function notes(response: SentResponse): unknown[] {
  return listed(response, 'after').map((after) => (after as { note?: string }).note);
}

describe('admin API: every change is on the record', () => {
  it('records create, update and delete with who, when, from where, before and after; newest first', async () => {
    const times = [
      '2026-06-01T09:00:00.000Z',
      '2026-06-02T10:30:00.000Z',
      '2026-06-03T16:45:00.000Z',
    ];
    let now = new Date(times[0] ?? '');
    const api = createHarness({ now: () => now });
    const app = principalHeader({ appId: APP_CALLER, roles: ['Inviters.ReadWrite'] });

    await api.send('PUT', entryPath(INVITER), {
      json: { allowedDomains: ['partner.example'], note: 'SEC-2211' },
    });
    now = new Date(times[1] ?? '');
    await api.send('PUT', entryPath(INVITER), {
      json: { expiresAt: '2027-01-31T00:00:00Z' },
      principal: app,
      headers: { 'x-forwarded-for': '203.0.113.5, 198.51.100.99:443' },
    });
    now = new Date(times[2] ?? '');
    await api.send('DELETE', entryPath(INVITER));

    const history = await api.send('GET', entryPath(INVITER, '/history'), {
      principal: READER_PRINCIPAL,
    });

    expect(history.status).toBe(200);
    expect(history.body.nextLink).toBeUndefined();
    expect(history.body.value).toEqual([
      {
        id: expect.stringMatching(/^\d{16}-[0-9a-f]{12}$/),
        inviter: INVITER,
        action: 'delete',
        before: { inviter: INVITER, expiresAt: '2027-01-31T00:00:00Z' },
        after: null,
        changedBy: ADMIN.name,
        changedByObjectId: ADMIN.objectId,
        changedByAppId: null,
        changedAt: times[2],
        clientIp: '198.51.100.23',
        invocationId: expect.any(String),
      },
      {
        id: expect.any(String),
        inviter: INVITER,
        action: 'update',
        before: { inviter: INVITER, allowedDomains: ['partner.example'], note: 'SEC-2211' },
        after: { inviter: INVITER, expiresAt: '2027-01-31T00:00:00Z' },
        changedBy: `app ${APP_CALLER}`,
        changedByObjectId: null,
        changedByAppId: APP_CALLER,
        changedAt: times[1],
        // The last X-Forwarded-For entry is the one App Service's front end added.
        clientIp: '198.51.100.99',
        invocationId: expect.any(String),
      },
      {
        id: expect.any(String),
        inviter: INVITER,
        action: 'create',
        before: null,
        after: { inviter: INVITER, allowedDomains: ['partner.example'], note: 'SEC-2211' },
        changedBy: ADMIN.name,
        changedByObjectId: ADMIN.objectId,
        changedByAppId: null,
        changedAt: times[0],
        clientIp: '198.51.100.23',
        invocationId: expect.any(String),
      },
    ]);
    expect(api.notices.map((notice) => notice.id)).toEqual(listed(history, 'id').slice().reverse());
  });

  it("keeps each inviter's history apart, and pages through it with top and nextLink", async () => {
    let tick = 0;
    const api = createHarness({ now: () => new Date(Date.UTC(2026, 5, 1, 9, 0, (tick += 1))) });
    for (const note of ['one', 'two', 'three']) {
      await api.send('PUT', entryPath(INVITER), { json: { note } });
    }
    await api.send('PUT', entryPath(OTHER), { json: { note: 'elsewhere' } });

    const first = await api.send('GET', entryPath(INVITER, '/history?top=2'));
    const next = new URL(first.body.nextLink as string);
    const second = await api.send('GET', `${entryPath(INVITER, '/history')}${next.search}`);
    const other = await api.send('GET', entryPath(OTHER, '/history'));

    expect(notes(first)).toEqual(['three', 'two']);
    expect(next.pathname).toBe(`/api/${entryPath(INVITER, '/history')}`);
    expect(notes(second)).toEqual(['one']);
    expect(second.body.nextLink).toBeUndefined();
    expect(listed(other, 'action')).toEqual(['create']);
  });

  it('answers an empty history for an inviter that was never on the allowlist', async () => {
    const api = createHarness();

    const history = await api.send('GET', entryPath('nobody@fabrikam.example', '/history'));

    expect(history.status).toBe(200);
    expect(history.body).toEqual({ value: [] });
  });

  it('refuses history to a caller without a role', async () => {
    const api = createHarness();

    const history = await api.send('GET', entryPath(INVITER, '/history'), {
      principal: principalHeader({ name: 'mallory@fabrikam.example', roles: [] }),
    });

    expect(history.status).toBe(403);
  });

  it('still shows records written under older rules, with expiresAt in documented form', async () => {
    const api = createHarness();
    await api.storage.ensureTables();
    // Both were accepted when written: an IP address as a domain, a lower-case t and z.
    const legacy = {
      inviter: INVITER,
      expiresAt: '2030-01-01t00:00:00z',
      allowedDomains: ['10.0.0.1'],
    };
    await api.storage.auditLog.append({
      id: '0006966441600000-0123456789ab',
      inviter: INVITER,
      action: 'create',
      before: null,
      after: legacy,
      changedBy: ADMIN.name,
      changedByObjectId: ADMIN.objectId,
      changedByAppId: null,
      changedAt: '2026-01-01T00:00:00.000Z',
      clientIp: null,
      invocationId: '3f0c1a52-7d4e-4b8a-9c1f-2e3d4c5b6a79',
    });

    const history = await api.send('GET', entryPath(INVITER, '/history'));

    expect(history.status).toBe(200);
    expect(listed(history, 'after')).toEqual([
      { inviter: INVITER, expiresAt: '2030-01-01T00:00:00Z', allowedDomains: ['10.0.0.1'] },
    ]);
  });
});
