import { TableClient } from '@azure/data-tables';

import { elementsOf } from '../lib/auditInput';
import { CachedAllowlist } from '../lib/cachedAllowlist';
import { detectInvitations } from '../lib/detectInvitations';
import { TableAllowlistSource } from '../lib/detectorRuntime';
import { TableAllowlistStore } from '../lib/tableAllowlistStore';
import { encodeTableKey, decodeTableKey } from '../lib/tableKey';
import { createTableClient } from '../lib/tableServiceClients';
import { fixture, sampleRecords } from './support/fixtures';
import { testTablesConnectionString, uniqueTableName } from './support/testTables';

async function freshStore(): Promise<{ store: TableAllowlistStore; client: TableClient }> {
  const client = createTableClient(
    { kind: 'connection-string', connectionString: testTablesConnectionString() },
    uniqueTableName('allow'),
  );
  const store = new TableAllowlistStore(client);
  await store.ensureTable();

  return { store, client };
}

describe('table keys', () => {
  it.each([
    'vendor_supplier.example#ext#@contoso.onmicrosoft.com',
    'odd/slash\\back?query%percent@contoso.com',
    'plain@contoso.com',
  ])('encode %p reversibly without forbidden characters', (key) => {
    const encoded = encodeTableKey(key);

    expect(encoded).not.toMatch(/[/\\#?]/);
    expect(decodeTableKey(encoded)).toBe(key);
  });
});

describe('the allowlist in Table Storage (Azurite)', () => {
  it('stores and reads back every kind of key, guest UPNs with #EXT# included', async () => {
    const { store } = await freshStore();
    const entries = [
      {
        inviter: 'vendor.rep_supplier.example#ext#@fabrikam.onmicrosoft.com',
        expiresAt: '2027-06-30T00:00:00Z',
      },
      {
        inviter: 'alice.morgan@fabrikam.example',
        allowedDomains: ['partner.example'],
        note: 'SEC-1042',
      },
      { inviter: '0f9e8d7c-6b5a-4948-8372-615a4b3c2d1e' },
    ];
    for (const entry of entries) {
      await store.upsertEntry(entry, { createdBy: 'admin@fabrikam.example' });
    }

    const listing = await store.listEntries();
    const read = await store.getEntry('vendor.rep_supplier.example#ext#@fabrikam.onmicrosoft.com');

    expect(listing.problems).toEqual([]);
    expect(
      listing.entries
        .map(({ etag: _etag, ...entry }) => entry)
        .sort((a, b) => a.inviter.localeCompare(b.inviter)),
    ).toEqual(
      entries
        .map((entry) => ({ ...entry, createdBy: 'admin@fabrikam.example' }))
        .sort((a, b) => a.inviter.localeCompare(b.inviter)),
    );
    expect(read?.expiresAt).toBe('2027-06-30T00:00:00Z');
  });

  it('reports an entity that is not a valid entry and leaves it out', async () => {
    const { store, client } = await freshStore();
    await store.upsertEntry({ inviter: 'alice.morgan@fabrikam.example' });
    await client.createEntity({
      partitionKey: 'inviter',
      rowKey: 'garbage',
      inviter: 'not an inviter',
    });

    const listing = await store.listEntries();

    expect(listing.entries.map((entry) => entry.inviter)).toEqual([
      'alice.morgan@fabrikam.example',
    ]);
    expect(listing.problems).toEqual([
      'allowlist entity "garbage": inviter: the inviter must be a user principal name (name@domain) or a GUID',
    ]);
  });
});

describe('the cached allowlist', () => {
  it('reads storage at most once per TTL however many batches ask, and not for batches without invitations', async () => {
    const { store } = await freshStore();
    await store.upsertEntry({
      inviter: 'alice.morgan@fabrikam.example',
      allowedDomains: ['partner.example'],
    });
    let now = 0;
    const cached = new CachedAllowlist(new TableAllowlistSource(store), 60_000, () => now);
    const records = sampleRecords();
    const noInvitations = { records: [records[0], records[2]] };

    for (let batch = 0; batch < 50; batch += 1) {
      await detectInvitations(elementsOf(noInvitations, 'b'), cached, new Date());
    }
    expect(cached.reads).toBe(0);

    for (let batch = 0; batch < 50; batch += 1) {
      const result = await detectInvitations(elementsOf({ records }, 'b'), cached, new Date());
      expect(result.summary).toMatchObject({ invitations: 2, approved: 1, alerts: 1 });
    }
    expect(cached.reads).toBe(1);

    now += 60_000;
    await detectInvitations(elementsOf({ records }, 'b'), cached, new Date());
    expect(cached.reads).toBe(2);
  });

  it('sees a change made in storage once the TTL has passed', async () => {
    const { store } = await freshStore();
    let now = 0;
    const cached = new CachedAllowlist(new TableAllowlistSource(store), 30_000, () => now);
    const batch = fixture('streams/sample-eventhub-batch.json');

    const before = await detectInvitations(elementsOf(batch, 'b'), cached, new Date());
    await store.upsertEntry({ inviter: 'malice.morgan@fabrikam.example' });
    const cachedResult = await detectInvitations(elementsOf(batch, 'b'), cached, new Date());
    now += 30_000;
    const after = await detectInvitations(elementsOf(batch, 'b'), cached, new Date());

    expect(before.summary.alerts).toBe(2);
    expect(cachedResult.summary.alerts).toBe(2);
    expect(after.summary).toMatchObject({ alerts: 1, approved: 1 });
    expect(after.alerts[0]?.inviter.userPrincipalName).toBe('alice.morgan@fabrikam.example');
  });

  it('shares one read between concurrent callers', async () => {
    const { store } = await freshStore();
    const cached = new CachedAllowlist(new TableAllowlistSource(store), 60_000);

    await Promise.all(Array.from({ length: 20 }, () => cached.get()));

    expect(cached.reads).toBe(1);
  });

  it('alerts every invitation as allowlist-unavailable when storage cannot be reached, and tries again next time', async () => {
    const unreachable = createTableClient(
      {
        kind: 'connection-string',
        connectionString: testTablesConnectionString().replace(
          /TableEndpoint=http:\/\/127\.0\.0\.1:\d+/,
          'TableEndpoint=http://127.0.0.1:9',
        ),
      },
      'Nowhere',
    );
    const cached = new CachedAllowlist(
      new TableAllowlistSource(new TableAllowlistStore(unreachable)),
      60_000,
    );

    const result = await detectInvitations(
      elementsOf({ records: sampleRecords() }, 'b'),
      cached,
      new Date(),
    );
    await detectInvitations(elementsOf({ records: sampleRecords() }, 'b'), cached, new Date());

    expect(result.summary).toMatchObject({ invitations: 2, approved: 0, alerts: 2 });
    expect(result.alerts.map((alert) => alert.reason)).toEqual([
      'allowlist-unavailable',
      'allowlist-unavailable',
    ]);
    expect(result.allowlistError).toBeDefined();
    expect(cached.reads).toBe(2);
  }, 60_000);
});
