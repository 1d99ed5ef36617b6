import { TableClient } from '@azure/data-tables';

import { TableAllowlistStore, toEntity } from '../lib/tableAllowlistStore';
import { createTableClient } from '../lib/tableServiceClients';
import { testTablesConnectionString, uniqueTableName } from './support/testTables';

async function newStore(): Promise<{ store: TableAllowlistStore; client: TableClient }> {
  const client = createTableClient(
    { kind: 'connection-string', connectionString: testTablesConnectionString() },
    uniqueTableName('store'),
  );
  const store = new TableAllowlistStore(client);
  await store.ensureTable();

  return { store, client };
}

const GUEST = 'dana.ito_partner.example#ext#@fabrikam.onmicrosoft.com';
const authorship = { createdBy: 'ops@fabrikam.example', createdAt: '2026-01-02T03:04:05.000Z' };

describe('TableAllowlistStore conditional operations', () => {
  it('creates an entry once and reports "exists" on a second create', async () => {
    const { store } = await newStore();

    const first = await store.createEntry({ inviter: GUEST, note: 'first' }, authorship);
    const second = await store.createEntry({ inviter: GUEST, note: 'second' }, authorship);

    expect(first.outcome).toBe('written');
    expect(second).toEqual({ outcome: 'exists' });
    const state = await store.getEntryState(GUEST);
    expect(state).toEqual({
      kind: 'valid',
      entry: expect.objectContaining({ inviter: GUEST, note: 'first', ...authorship }),
    });
  });

  it('replaces only while the ETag matches, and hands out a new ETag', async () => {
    const { store } = await newStore();
    const created = await store.createEntry({ inviter: GUEST }, authorship);
    if (created.outcome !== 'written') throw new Error('create failed');

    const replaced = await store.replaceEntry({ inviter: GUEST, note: 'v2' }, {}, created.etag);
    const stale = await store.replaceEntry({ inviter: GUEST, note: 'v3' }, {}, created.etag);

    expect(replaced.outcome).toBe('written');
    expect(replaced.outcome === 'written' && replaced.etag).not.toBe(created.etag);
    expect(stale).toEqual({ outcome: 'precondition-failed' });
    expect((await store.getEntry(GUEST))?.note).toBe('v2');
  });

  it('reports "not-found" when replacing or deleting an entry that does not exist', async () => {
    const { store } = await newStore();

    expect(await store.replaceEntry({ inviter: GUEST }, {}, '*')).toEqual({
      outcome: 'not-found',
    });
    expect(await store.deleteEntryIfMatch(GUEST, '*')).toEqual({ outcome: 'not-found' });
  });

  it('deletes only while the ETag matches', async () => {
    const { store } = await newStore();
    const created = await store.createEntry({ inviter: GUEST }, authorship);
    if (created.outcome !== 'written') throw new Error('create failed');
    await store.replaceEntry({ inviter: GUEST, note: 'changed' }, {}, '*');

    const stale = await store.deleteEntryIfMatch(GUEST, created.etag);
    const current = await store.getEntryState(GUEST);
    const etag = current.kind === 'valid' ? current.entry.etag : 'none';
    const deleted = await store.deleteEntryIfMatch(GUEST, etag);

    expect(stale).toEqual({ outcome: 'precondition-failed' });
    expect(deleted).toEqual({ outcome: 'deleted' });
    expect(await store.getEntryState(GUEST)).toEqual({ kind: 'missing' });
  });

  it('lets exactly one of two writers holding the same ETag win', async () => {
    const { store } = await newStore();
    const created = await store.createEntry({ inviter: GUEST }, authorship);
    if (created.outcome !== 'written') throw new Error('create failed');

    const outcomes = await Promise.all([
      store.replaceEntry({ inviter: GUEST, note: 'writer A' }, {}, created.etag),
      store.replaceEntry({ inviter: GUEST, note: 'writer B' }, {}, created.etag),
    ]);

    expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual([
      'precondition-failed',
      'written',
    ]);
  });

  it('shows an invalid entity as invalid, with its ETag, instead of hiding it', async () => {
    const { store, client } = await newStore();
    await client.createEntity({ ...toEntity({ inviter: GUEST }, {}), allowedDomains: 'nope' });

    const state = await store.getEntryState(GUEST);

    expect(state).toEqual({
      kind: 'invalid',
      etag: expect.any(String),
      problem: `allowlist entity "${GUEST}": allowedDomains is not a JSON array`,
    });
  });

  it('pages through the allowlist in key order', async () => {
    const { store } = await newStore();
    const inviters = ['a@fabrikam.example', 'b@fabrikam.example', 'c@fabrikam.example'];
    for (const inviter of inviters) {
      await store.createEntry({ inviter }, authorship);
    }

    const first = await store.listPage(2);
    const second = await store.listPage(2, first.continuationToken);

    expect(first.entries.map((entry) => entry.inviter)).toEqual(inviters.slice(0, 2));
    expect(first.continuationToken).toEqual(expect.any(String));
    expect(second.entries.map((entry) => entry.inviter)).toEqual(inviters.slice(2));
    expect(second.continuationToken).toBeUndefined();
  });
});
