import { elementsOf, UnparsableElement } from '../lib/auditInput';
import type { AuditRecord } from '../lib/auditRecord';
import { normalizeAuditRecord, normalizeResult } from '../lib/normalizeAuditRecord';
import { fixture, sampleRecords } from './support/fixtures';

function auditRecord(element: unknown): AuditRecord {
  const outcome = normalizeAuditRecord(element);
  if (outcome.kind !== 'audit') {
    throw new Error(`expected an audit record, got ${outcome.kind}: ${outcome.reason}`);
  }

  return outcome.record;
}

const MALICE = {
  type: 'user',
  id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  userPrincipalName: 'malice.morgan@fabrikam.example',
  displayName: undefined,
  ipAddress: '198.51.100.77',
};

describe('normalizeAuditRecord', () => {
  it('reads an Event Hubs resource-log invitation record completely', () => {
    const record = auditRecord(sampleRecords()[3]);

    expect(record).toEqual({
      shape: 'resource-log',
      id: 'Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487',
      category: 'UserManagement',
      activity: 'Invite external user',
      operationName: 'Invite external user',
      result: 'success',
      resultReason: undefined,
      time: '2026-11-18T10:02:51.987654+00:00',
      tenantId: '3f2a9c4e-7b1d-4e8a-9c55-1d2e3f4a5b6c',
      correlationId: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      loggedByService: 'Invited Users',
      initiatedBy: MALICE,
      targetResources: [
        {
          id: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
          type: 'User',
          displayName: undefined,
          userPrincipalName: 'burner.account_mailbox.example#EXT#@fabrikam.onmicrosoft.com',
        },
      ],
      additionalDetails: expect.arrayContaining([
        { key: 'invitedUserEmailAddress', value: 'burner.account@mailbox.example' },
      ]) as unknown,
    });
  });

  it('reads a Graph directoryAudit object, which has no tenant id', () => {
    const record = auditRecord(fixture('records/graph-directory-audit-invite.json'));

    expect(record.shape).toBe('graph');
    expect(record.id).toBe('Invited Users_9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a_PX2LM_5510487');
    expect(record.activity).toBe('Invite external user');
    expect(record.tenantId).toBeUndefined();
    expect(record.initiatedBy).toEqual(MALICE);
  });

  it('reads a Log Analytics row whose dynamic columns are JSON strings', () => {
    const record = auditRecord(fixture('records/log-analytics-auditlogs-row.json'));

    expect(record.shape).toBe('log-analytics');
    expect(record.operationName).toBe('Invite external user ');
    expect(record.tenantId).toBe('3f2a9c4e-7b1d-4e8a-9c55-1d2e3f4a5b6c');
    expect(record.initiatedBy).toEqual(MALICE);
    expect(record.targetResources[0]?.userPrincipalName).toBe(
      'burner.account_mailbox.example#EXT#@fabrikam.onmicrosoft.com',
    );
    expect(record.additionalDetails).toContainEqual({
      key: 'invitedUserEmailAddress',
      value: 'burner.account@mailbox.example',
    });
  });

  it('reads the pre-GA "Audit" schema, taking the UPN identity as the initiator', () => {
    const [located] = [...elementsOf(fixture('records/resource-log-preview-schema.json'), 'x')];
    const record = auditRecord(located?.element);

    expect(record.category).toBe('UserManagement');
    expect(record.activity).toBe('Invite external user');
    expect(record.result).toBe('success');
    expect(record.initiatedBy).toMatchObject({
      type: 'user',
      userPrincipalName: 'pat.kim@fabrikam.example',
    });
  });

  it('maps numeric results and an empty initiator', () => {
    const record = auditRecord(fixture('records/resource-log-numeric-result.json'));

    expect(record.result).toBe('failure');
    expect(record.initiatedBy).toEqual({ type: 'unknown' });
  });

  it.each([
    [0, 'success'],
    [1, 'failure'],
    [2, 'timeout'],
    ['Success', 'success'],
    ['failed', 'failure'],
    [' FAILURE ', 'failure'],
    [null, undefined],
    [7, '7'],
  ])('normalises the result %p to %p', (input, expected) => {
    expect(normalizeResult(input)).toBe(expected);
  });

  it('treats "<null>" and empty strings as absent, and {user, app: null} as the user', () => {
    const record = auditRecord({
      properties: {
        id: 'Invited Users_x',
        category: 'UserManagement',
        activityDisplayName: 'Invite external user',
        initiatedBy: {
          user: { id: '', userPrincipalName: 'kim@fabrikam.example', ipAddress: '<null>' },
          app: null,
        },
      },
      category: 'AuditLogs',
    });

    expect(record.initiatedBy).toEqual({
      type: 'user',
      id: undefined,
      userPrincipalName: 'kim@fabrikam.example',
      displayName: undefined,
      ipAddress: undefined,
    });
  });

  it('takes an app initiator that lacks an appId key', () => {
    const record = auditRecord({
      id: 'Directory_1',
      activityDisplayName: 'Invite external user',
      category: 'UserManagement',
      initiatedBy: {
        app: { displayName: 'Sync', servicePrincipalId: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f' },
      },
    });

    expect(record.initiatedBy).toEqual({
      type: 'app',
      appId: undefined,
      servicePrincipalId: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
      displayName: 'Sync',
      servicePrincipalName: undefined,
    });
  });

  it('ignores records of other log categories and other Log Analytics tables', () => {
    expect(normalizeAuditRecord(sampleRecords()[0])).toEqual({
      kind: 'ignored',
      reason: 'log category SignInLogs',
    });
    expect(normalizeAuditRecord({ Type: 'SigninLogs', OperationName: 'Sign-in activity' })).toEqual(
      { kind: 'ignored', reason: 'Log Analytics table SigninLogs' },
    );
  });

  it.each([
    ['a string', 'hello', 'expected a JSON object, got a string'],
    ['null', null, 'expected a JSON object, got null'],
    ['an array', [1], 'expected a JSON object, got an array'],
    [
      'properties that are not an object',
      { properties: 'x' },
      '"properties" must be an object, got a string',
    ],
  ])('reports %s as unreadable, saying why', (_name, input, reason) => {
    expect(normalizeAuditRecord(input)).toEqual({ kind: 'unreadable', reason });
  });

  it('reports an object of no known shape as unreadable', () => {
    const outcome = normalizeAuditRecord({ hello: 'world' });

    expect(outcome.kind).toBe('unreadable');
  });

  it('does not read inherited properties such as constructor or __proto__', () => {
    const element = JSON.parse(
      '{"__proto__": {"category": "UserManagement"}, "activityDisplayName": "Invite external user"}',
    ) as unknown;
    const record = auditRecord(element);

    expect(record.category).toBeUndefined();
    expect(({} as Record<string, unknown>).category).toBeUndefined();
  });
});

describe('elementsOf', () => {
  interface QueryTable {
    name: string;
    columns: { name: string; type: string }[];
    rows: unknown[][];
  }

  interface QueryResponse {
    tables: QueryTable[];
  }

  it('flattens an Event Hubs message, a Graph list response and arrays of envelopes', () => {
    const graphList = [...elementsOf(fixture('records/graph-list-response.json'), 'list')];
    const nested = [...elementsOf([{ records: [1, 2] }, { records: [3] }, 4], 'batch')];

    expect(graphList.map((item) => item.where)).toEqual(['list, record 0', 'list, record 1']);
    expect(nested.map((item) => [item.where, item.element])).toEqual([
      ['batch, item 0, record 0', 1],
      ['batch, item 0, record 1', 2],
      ['batch, item 1, record 0', 3],
      ['batch, item 2', 4],
    ]);
  });

  it('makes each row of a Log Analytics query response an AuditLogs row keyed by column name', () => {
    const response = fixture('records/log-analytics-query-response.json') as QueryResponse;
    const columns = response.tables[0]?.columns.map((column) => column.name);

    const rows = [...elementsOf(response, 'query')];
    const invitation = rows[0]?.element as Record<string, unknown>;

    expect(rows.map((row) => row.where)).toEqual([
      'query, table 0, row 0',
      'query, table 0, row 1',
    ]);
    expect(Object.keys(invitation)).toEqual(columns);
    expect(invitation).toMatchObject({
      TimeGenerated: '2026-11-19T11:47:09.2Z',
      Id: 'Invited Users_2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d_MV6TC_5512233',
      DurationMs: 0,
      Type: 'AuditLogs',
    });
    expect(auditRecord(invitation)).toMatchObject({
      shape: 'log-analytics',
      activity: 'Invite external user',
      initiatedBy: { type: 'user', userPrincipalName: 'priya.natarajan@fabrikam.example' },
    });
  });

  it.each([
    [
      'a row one value short',
      (table: QueryTable) => table.rows[1]?.pop(),
      'query, table 0, row 1',
      'the row has 26 values but the table has 27 columns',
    ],
    [
      'a row that is not an array',
      (table: QueryTable) => (table.rows[1] = { Id: 'x' } as unknown as unknown[]),
      'query, table 0, row 1',
      'the row is not an array of 27 values',
    ],
    [
      'a table without columns',
      (table: QueryTable) => delete (table as Partial<QueryTable>).columns,
      'query, table 0',
      'a query result table needs "columns", each with a "name", and "rows", each an array',
    ],
  ])('reports %s in a query response as unreadable, saying why', (_case, damage, where, reason) => {
    const response = fixture('records/log-analytics-query-response.json') as QueryResponse;
    damage(response.tables[0] as QueryTable);

    const elements = [...elementsOf(response, 'query')];

    expect(elements.filter((located) => located.element instanceof UnparsableElement)).toEqual([
      { where, element: new UnparsableElement(reason), documentIndex: undefined },
    ]);
  });
});
