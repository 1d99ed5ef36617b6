import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv2020 from 'ajv/dist/2020';

import { PROBLEM_KINDS } from '../../lib/adminApi/apiProblem';
import type { InvitersStorage } from '../../lib/adminApi/createInvitersApi';
import { INVITERS_ROUTES, methodsOf } from '../../lib/adminApi/invitersRoutes';
import { entryTermsSchema } from '../../lib/allowlistEntry';
import { toEntity } from '../../lib/tableAllowlistStore';
import {
  READER_PRINCIPAL,
  createHarness,
  entryPath,
  newStorage,
  type Harness,
  type SentResponse,
} from '../support/adminApiHarness';

interface MediaType {
  schema: { $ref: string };
}
interface ResponseSpec {
  $ref?: string;
  description: string;
  headers?: Record<string, { $ref: string }>;
  content?: Record<string, MediaType>;
}
interface OperationSpec {
  operationId: string;
  responses: Record<string, ResponseSpec>;
}
type PathSpec = Record<string, unknown>;
interface OpenApi {
  openapi: string;
  paths: Record<string, PathSpec>;
  components: {
    schemas: Record<string, unknown>;
    responses: Record<string, ResponseSpec>;
    headers: Record<string, { required?: boolean }>;
  };
}

const DOCS = join(__dirname, '..', '..', 'docs');
const spec = JSON.parse(readFileSync(join(DOCS, 'openapi.json'), 'utf8')) as OpenApi;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

// The spec's schemas under one id, so that "#/components/schemas/X" refs resolve in Ajv.
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addFormat('date-time', {
  type: 'string',
  validate: (value: string) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)),
});
ajv.addSchema(
  JSON.parse(
    JSON.stringify({ $id: 'openapi', $defs: spec.components.schemas }).replaceAll(
      '#/components/schemas/',
      'openapi#/$defs/',
    ),
  ) as object,
);

function specOperations(): { path: string; method: string; operation: OperationSpec }[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({
        path,
        method: method.toUpperCase(),
        operation: operation as OperationSpec,
      })),
  );
}

function operationSpec(operationId: string): OperationSpec {
  const found = specOperations().find((entry) => entry.operation.operationId === operationId);
  if (found === undefined) throw new Error(`${operationId} is not in docs/openapi.json`);

  return found.operation;
}

function resolve(response: ResponseSpec): ResponseSpec {
  const name = response.$ref?.replace('#/components/responses/', '');

  return name === undefined ? response : (spec.components.responses[name] ?? response);
}

/** What is wrong with a real answer against the spec; empty when it conforms. */
function deviations(operationId: string, response: SentResponse): string[] {
  const documented = operationSpec(operationId).responses[String(response.status)];
  if (documented === undefined) {
    return [`status ${response.status} is not documented for ${operationId}`];
  }

  const expected = resolve(documented);
  const problems: string[] = [];
  for (const [header, reference] of Object.entries(expected.headers ?? {})) {
    const definition = spec.components.headers[reference.$ref.split('/').pop() ?? ''];
    if (definition?.required === true && response.headers[header.toLowerCase()] === undefined) {
      problems.push(`header ${header} is missing`);
    }
  }
  if (expected.content === undefined) {
    if (response.raw.body !== undefined) problems.push('a body where none is documented');

    return problems;
  }

  const contentType = response.headers['content-type'] ?? '';
  const media = expected.content[contentType];
  if (media === undefined) {
    return [...problems, `content type ${contentType} is not documented`];
  }
  const validate = ajv.getSchema(
    media.schema.$ref.replace('#/components/schemas/', 'openapi#/$defs/'),
  );
  if (validate === undefined) {
    return [...problems, `schema ${media.schema.$ref} is missing`];
  }
  if (!validate(response.body)) {
    problems.push(
      ...(validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`),
    );
  }

  return problems;
}

const INVITER = 'alice.morgan@fabrikam.example';
const TERMS = {
  expiresAt: '2027-01-31T00:00:00Z',
  allowedDomains: ['partner.example'],
  note: 'SEC-1042',
};
const NOW = new Date('2026-06-01T12:00:00.000Z');
const unreachable = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

/** Each scenario produces one answer of one operation, on a fresh API. */
interface Scenario {
  name: string;
  operationId: string;
  expectedStatus: number;
  run(api: Harness): Promise<SentResponse>;
  setUp?: (storage: InvitersStorage) => void | Promise<void>;
  env?: Record<string, string>;
  noStorage?: boolean;
}

async function withEntry(api: Harness): Promise<string> {
  const created = await api.send('PUT', entryPath(INVITER), { json: TERMS });

  return created.headers.etag ?? '';
}

async function storeInvalidEntity(storage: InvitersStorage): Promise<void> {
  await storage.ensureTables();
  const client = (
    storage.allowlist as unknown as { client: { createEntity(e: object): Promise<unknown> } }
  ).client;
  await client.createEntity({ ...toEntity({ inviter: INVITER }, {}), allowedDomains: '[1]' });
}

function failing(method: 'getEntryState' | 'listPage', error: Error) {
  return (storage: InvitersStorage): void => {
    if (method === 'listPage') {
      jest.spyOn(storage.allowlist, 'listPage').mockRejectedValue(error);
    } else {
      jest.spyOn(storage.allowlist, 'getEntryState').mockRejectedValue(error);
    }
  };
}

function auditWriteFails(storage: InvitersStorage): void {
  jest.spyOn(storage.auditLog, 'append').mockRejectedValue(unreachable);
}

const failClosed = { WEBSITE_SITE_NAME: 'func-gid-prod' };
const unexpected = new TypeError('boom');
const entry = entryPath(INVITER);
const history = entryPath(INVITER, '/history');

const scenarios: Scenario[] = [
  {
    name: 'a page',
    operationId: 'listInviters',
    expectedStatus: 200,
    run: async (api) => {
      await withEntry(api);
      return api.send('GET', 'inviters?top=1');
    },
  },
  {
    name: 'a bad top',
    operationId: 'listInviters',
    expectedStatus: 400,
    run: (api) => api.send('GET', 'inviters?top=0'),
  },
  {
    name: 'no principal',
    operationId: 'listInviters',
    expectedStatus: 401,
    run: (api) => api.send('GET', 'inviters', { principal: null }),
  },
  {
    name: 'no role',
    operationId: 'listInviters',
    expectedStatus: 403,
    run: (api) =>
      api.send('GET', 'inviters', { principal: Buffer.from('{"claims":[]}').toString('base64') }),
  },
  {
    name: 'a bug',
    operationId: 'listInviters',
    expectedStatus: 500,
    setUp: failing('listPage', unexpected),
    run: (api) => api.send('GET', 'inviters'),
  },
  {
    name: 'storage down',
    operationId: 'listInviters',
    expectedStatus: 503,
    setUp: failing('listPage', unreachable),
    run: (api) => api.send('GET', 'inviters'),
  },
  {
    name: 'an invalid stored entity',
    operationId: 'listInviters',
    expectedStatus: 200,
    setUp: storeInvalidEntity,
    run: (api) => api.send('GET', 'inviters'),
  },

  {
    name: 'an entry',
    operationId: 'getInviter',
    expectedStatus: 200,
    run: async (api) => {
      await withEntry(api);
      return api.send('GET', entry);
    },
  },
  {
    name: 'a bad key',
    operationId: 'getInviter',
    expectedStatus: 400,
    run: (api) => api.send('GET', 'inviters/nobody'),
  },
  {
    name: 'no principal',
    operationId: 'getInviter',
    expectedStatus: 401,
    run: (api) => api.send('GET', entry, { principal: null }),
  },
  {
    name: 'no role',
    operationId: 'getInviter',
    expectedStatus: 403,
    run: (api) =>
      api.send('GET', entry, { principal: Buffer.from('{"claims":[]}').toString('base64') }),
  },
  {
    name: 'no entry',
    operationId: 'getInviter',
    expectedStatus: 404,
    run: (api) => api.send('GET', entry),
  },
  {
    name: 'an invalid stored entity',
    operationId: 'getInviter',
    expectedStatus: 409,
    setUp: storeInvalidEntity,
    run: (api) => api.send('GET', entry),
  },
  {
    name: 'a bug',
    operationId: 'getInviter',
    expectedStatus: 500,
    setUp: failing('getEntryState', unexpected),
    run: (api) => api.send('GET', entry),
  },
  {
    name: 'storage down',
    operationId: 'getInviter',
    expectedStatus: 503,
    setUp: failing('getEntryState', unreachable),
    run: (api) => api.send('GET', entry),
  },

  {
    name: 'a create',
    operationId: 'putInviter',
    expectedStatus: 201,
    run: (api) => api.send('PUT', entry, { json: TERMS }),
  },
  {
    name: 'a replace',
    operationId: 'putInviter',
    expectedStatus: 200,
    run: async (api) => {
      await withEntry(api);
      return api.send('PUT', entry, { json: {} });
    },
  },
  {
    name: 'a bad body',
    operationId: 'putInviter',
    expectedStatus: 400,
    run: (api) => api.send('PUT', entry, { json: { inviter: INVITER } }),
  },
  {
    name: 'no principal',
    operationId: 'putInviter',
    expectedStatus: 401,
    run: (api) => api.send('PUT', entry, { principal: null, json: {} }),
  },
  {
    name: 'a reader',
    operationId: 'putInviter',
    expectedStatus: 403,
    run: (api) => api.send('PUT', entry, { principal: READER_PRINCIPAL, json: {} }),
  },
  {
    name: 'endless concurrent changes',
    operationId: 'putInviter',
    expectedStatus: 409,
    setUp: (storage) => {
      jest.spyOn(storage.allowlist, 'createEntry').mockResolvedValue({ outcome: 'exists' });
      jest.spyOn(storage.allowlist, 'getEntryState').mockResolvedValue({ kind: 'missing' });
    },
    run: (api) => api.send('PUT', entry, { json: {} }),
  },
  {
    name: 'a stale If-Match',
    operationId: 'putInviter',
    expectedStatus: 412,
    run: async (api) => {
      await withEntry(api);
      return api.send('PUT', entry, { json: {}, headers: { 'if-match': 'W/"stale"' } });
    },
  },
  {
    name: 'a large body',
    operationId: 'putInviter',
    expectedStatus: 413,
    run: (api) => api.send('PUT', entry, { json: { note: 'x'.repeat(20_000) } }),
  },
  {
    name: 'not JSON',
    operationId: 'putInviter',
    expectedStatus: 415,
    run: (api) =>
      api.send('PUT', entry, {
        raw: 'note=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  },
  {
    name: 'a bug',
    operationId: 'putInviter',
    expectedStatus: 500,
    setUp: failing('getEntryState', unexpected),
    run: (api) => api.send('PUT', entry, { json: {} }),
  },
  {
    name: 'fail closed',
    operationId: 'putInviter',
    expectedStatus: 503,
    env: failClosed,
    run: (api) => api.send('PUT', entry, { json: {} }),
  },

  {
    name: 'the audit record not written',
    operationId: 'putInviter',
    expectedStatus: 503,
    setUp: auditWriteFails,
    run: (api) => api.send('PUT', entry, { json: TERMS }),
  },

  {
    name: 'a delete',
    operationId: 'deleteInviter',
    expectedStatus: 204,
    run: async (api) => {
      await withEntry(api);
      return api.send('DELETE', entry);
    },
  },
  {
    name: 'a bad header',
    operationId: 'deleteInviter',
    expectedStatus: 400,
    run: (api) => api.send('DELETE', entry, { headers: { 'if-none-match': '*' } }),
  },
  {
    name: 'no principal',
    operationId: 'deleteInviter',
    expectedStatus: 401,
    run: (api) => api.send('DELETE', entry, { principal: null }),
  },
  {
    name: 'a reader',
    operationId: 'deleteInviter',
    expectedStatus: 403,
    run: (api) => api.send('DELETE', entry, { principal: READER_PRINCIPAL }),
  },
  {
    name: 'no entry',
    operationId: 'deleteInviter',
    expectedStatus: 404,
    run: (api) => api.send('DELETE', entry),
  },
  {
    name: 'endless concurrent changes',
    operationId: 'deleteInviter',
    expectedStatus: 409,
    setUp: (storage) => {
      jest
        .spyOn(storage.allowlist, 'deleteEntryIfMatch')
        .mockResolvedValue({ outcome: 'precondition-failed' });
    },
    run: async (api) => {
      await withEntry(api);
      return api.send('DELETE', entry);
    },
  },
  {
    name: 'a stale If-Match',
    operationId: 'deleteInviter',
    expectedStatus: 412,
    run: async (api) => {
      await withEntry(api);
      return api.send('DELETE', entry, { headers: { 'if-match': 'W/"stale"' } });
    },
  },
  {
    name: 'a bug',
    operationId: 'deleteInviter',
    expectedStatus: 500,
    setUp: failing('getEntryState', unexpected),
    run: (api) => api.send('DELETE', entry),
  },
  {
    name: 'the audit record not written',
    operationId: 'deleteInviter',
    expectedStatus: 503,
    run: async (api) => {
      await withEntry(api);
      auditWriteFails(api.storage);
      return api.send('DELETE', entry);
    },
  },
  {
    name: 'no storage configured',
    operationId: 'deleteInviter',
    expectedStatus: 503,
    noStorage: true,
    run: (api) => api.send('DELETE', entry),
  },

  {
    name: 'a history',
    operationId: 'getInviterHistory',
    expectedStatus: 200,
    run: async (api) => {
      await withEntry(api);
      await api.send('DELETE', entry);
      return api.send('GET', `${history}?top=1`);
    },
  },
  {
    name: 'a bad continuation',
    operationId: 'getInviterHistory',
    expectedStatus: 400,
    run: (api) => api.send('GET', `${history}?continuation=%%%`),
  },
  {
    name: 'no principal',
    operationId: 'getInviterHistory',
    expectedStatus: 401,
    run: (api) => api.send('GET', history, { principal: null }),
  },
  {
    name: 'no role',
    operationId: 'getInviterHistory',
    expectedStatus: 403,
    run: (api) =>
      api.send('GET', history, { principal: Buffer.from('{"claims":[]}').toString('base64') }),
  },
  {
    name: 'a bug',
    operationId: 'getInviterHistory',
    expectedStatus: 500,
    setUp: (storage) => {
      jest.spyOn(storage.auditLog, 'listPage').mockRejectedValue(unexpected);
    },
    run: (api) => api.send('GET', history),
  },
  {
    name: 'fail closed',
    operationId: 'getInviterHistory',
    expectedStatus: 503,
    env: failClosed,
    run: (api) => api.send('GET', history),
  },
];

describe('docs/openapi.json describes what is served', () => {
  it('is OpenAPI 3.1', () => {
    expect(spec.openapi).toBe('3.1.0');
  });

  it('has exactly the routes and methods the function registers, with the same operation ids', () => {
    const served = INVITERS_ROUTES.flatMap((route) =>
      methodsOf(route).map((method) => `${method} /${route.route} ${route.operations[method]}`),
    );
    const documented = specOperations().map(
      ({ path, method, operation }) => `${method} ${path} ${operation.operationId}`,
    );

    expect(documented.sort()).toEqual(served.sort());
  });

  it('registers those routes in functions/inviters.ts, behind the function key', () => {
    const registered: {
      name: string;
      options: { route?: string; methods?: string[]; authLevel?: string };
    }[] = [];
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded inside isolateModules with app.http spied on.
      const functions = require('@azure/functions') as typeof import('@azure/functions');
      jest.spyOn(functions.app, 'http').mockImplementation((name, options) => {
        registered.push({ name, options });
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module registers on load.
      require('../../functions/inviters');
    });

    expect(
      registered.map(({ name, options }) => [
        name,
        options.route,
        options.methods,
        options.authLevel,
      ]),
    ).toEqual(
      INVITERS_ROUTES.map((route) => [route.name, route.route, methodsOf(route), 'function']),
    );
  });

  it('documents the PUT body as exactly the fields the API accepts', () => {
    const terms = spec.components.schemas.EntryTerms as { properties: object };

    expect(Object.keys(terms.properties).sort()).toEqual(
      Object.keys(entryTermsSchema.shape).sort(),
    );
  });

  it('lists every problem type in docs/admin-api.md', () => {
    const guide = readFileSync(join(DOCS, 'admin-api.md'), 'utf8');

    for (const kind of Object.keys(PROBLEM_KINDS)) {
      expect(guide).toContain(`\`${kind}\``);
    }
  });

  const observed = new Map<string, Set<number>>();

  it.each(
    scenarios.map((scenario) => [`${scenario.operationId}: ${scenario.name}`, scenario] as const),
  )('%s answers as documented', async (_name, scenario) => {
    const storage = scenario.noStorage === true ? undefined : newStorage();
    if (storage !== undefined) await scenario.setUp?.(storage);
    const api = createHarness(
      { now: () => NOW, ...(scenario.env === undefined ? {} : { env: scenario.env }), storage },
      storage ?? newStorage(),
    );

    const response = await scenario.run(api);

    expect(response.status).toBe(scenario.expectedStatus);
    expect(deviations(scenario.operationId, response)).toEqual([]);
    const statuses = observed.get(scenario.operationId) ?? new Set<number>();
    statuses.add(response.status);
    observed.set(scenario.operationId, statuses);
  });

  it('documents no status the handlers were not seen to answer, and misses none they answer', () => {
    for (const { operation } of specOperations()) {
      const documented = Object.keys(operation.responses).map(Number).sort();
      const seen = [...(observed.get(operation.operationId) ?? [])].sort();

      expect([operation.operationId, seen]).toEqual([operation.operationId, documented]);
    }
  });
});
