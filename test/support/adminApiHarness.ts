import { HttpRequest, InvocationContext } from '@azure/functions';

import type { AllowlistChange } from '../../lib/adminApi/allowlistChange';
import type { AllowlistChangeNotifier } from '../../lib/adminApi/allowlistChangeNotifier';
import type { ApiResponse } from '../../lib/adminApi/apiResponse';
import {
  createInvitersApi,
  type InvitersApi,
  type InvitersApiDependencies,
  type InvitersStorage,
} from '../../lib/adminApi/createInvitersApi';
import { once } from '../../lib/adminApi/createInvitersRuntime';
import { matchInvitersRoute, routeHandler } from '../../lib/adminApi/invitersRoutes';
import { TableAllowlistAuditLog } from '../../lib/adminApi/tableAllowlistAuditLog';
import { TableAllowlistStore } from '../../lib/tableAllowlistStore';
import { createTableClient } from '../../lib/tableServiceClients';
import { testTablesConnectionString, uniqueTableName } from './testTables';

export const ROLE_CLAIM_URI = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
export const OBJECT_ID_CLAIM_URI = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
export const NAME_CLAIM_URI = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';

export interface PrincipalShape {
  name?: string;
  objectId?: string;
  appId?: string;
  roles?: string[];
  /** The claim type roles travel under; `roles` unless told. */
  roleClaim?: string;
  /** Sets role_typ in the principal. */
  roleType?: string;
}

/** An `x-ms-client-principal` header as App Service Authentication builds it for Entra ID. */
export function principalHeader(shape: PrincipalShape): string {
  const claims: { typ: string; val: string }[] = [];
  if (shape.name !== undefined) {
    claims.push({ typ: NAME_CLAIM_URI, val: shape.name });
    claims.push({ typ: 'preferred_username', val: shape.name });
  }
  if (shape.objectId !== undefined) {
    claims.push({ typ: OBJECT_ID_CLAIM_URI, val: shape.objectId });
  }
  if (shape.appId !== undefined) {
    claims.push({ typ: 'appid', val: shape.appId });
  }
  for (const role of shape.roles ?? []) {
    claims.push({ typ: shape.roleClaim ?? 'roles', val: role });
  }
  claims.push({ typ: 'aud', val: 'api://guest-invite-detector' });

  const principal = {
    auth_typ: 'aad',
    claims,
    name_typ: NAME_CLAIM_URI,
    role_typ: shape.roleType ?? ROLE_CLAIM_URI,
  };

  return Buffer.from(JSON.stringify(principal)).toString('base64');
}

export const ADMIN = {
  name: 'priya.raman@fabrikam.example',
  objectId: '0b8e5a1c-2d3f-4a6b-9c7d-8e9f0a1b2c3d',
  roles: ['Inviters.ReadWrite'],
};
export const READER = {
  name: 'owen.hart@fabrikam.example',
  objectId: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f',
  roles: ['Inviters.Read'],
};
export const ADMIN_PRINCIPAL = principalHeader(ADMIN);

/** The app settings of a function app with App Service Authentication on, as Azure sets them. */
export const APP_SERVICE_WITH_AUTH = {
  WEBSITE_SITE_NAME: 'func-gid-test',
  WEBSITE_INSTANCE_ID: '8f2c4e6a0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a',
  WEBSITE_AUTH_ENABLED: 'True',
};
export const READER_PRINCIPAL = principalHeader(READER);

export interface SendOptions {
  /** An x-ms-client-principal value; the admin's unless told; null sends none. */
  principal?: string | null;
  /** A JSON value (sent as application/json) or a raw string with the given headers. */
  json?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** Route parameters as the host would give them; derived from the path unless told. */
  params?: Record<string, string>;
}

export interface LogLine {
  level: string;
  message: string;
}

/** A parsed answer: status, headers (lower case) and the JSON body when there is one. */
export interface SentResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
  raw: ApiResponse;
}

/**
 * A request as the Functions host hands it over: the URL as the client sent it (encoded),
 * and route parameters percent-decoded once.
 */
export function hostRequest(method: string, path: string, options: SendOptions = {}): HttpRequest {
  const url = `http://localhost:7071/api/${path}`;
  const headers: Record<string, string> = { 'x-forwarded-for': '198.51.100.23:50123' };
  if (options.principal !== null) {
    headers['x-ms-client-principal'] = options.principal ?? ADMIN_PRINCIPAL;
  }
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
  }
  Object.assign(headers, options.headers);
  // Like a real client, nothing after "#" is sent: it is the fragment.
  const sentPath = new URL(url).pathname.replace(/^\/api\//, '');
  const params = options.params ?? matchInvitersRoute(sentPath)?.params ?? {};

  return new HttpRequest({
    method,
    url,
    headers,
    params,
    // As in a real host, GET and HEAD carry no body.
    ...(body === undefined || method === 'GET' || method === 'HEAD'
      ? {}
      : { body: { string: body } }),
  });
}

export interface Harness {
  api: InvitersApi;
  storage: InvitersStorage;
  notices: AllowlistChange[];
  logs: LogLine[];
  send(method: string, path: string, options?: SendOptions): Promise<SentResponse>;
}

let invocations = 0;

export function testContext(logs: LogLine[], functionName = 'inviter'): InvocationContext {
  invocations += 1;

  return new InvocationContext({
    invocationId: `00000000-0000-4000-8000-${String(invocations).padStart(12, '0')}`,
    functionName,
    logHandler: (level, ...args) => {
      logs.push({ level, message: args.map((arg) => String(arg)).join(' ') });
    },
  });
}

export function newStorage(): InvitersStorage {
  const connection = {
    kind: 'connection-string' as const,
    connectionString: testTablesConnectionString(),
  };
  const allowlist = new TableAllowlistStore(
    createTableClient(connection, uniqueTableName('allow')),
  );
  const auditLog = new TableAllowlistAuditLog(
    createTableClient(connection, uniqueTableName('audit')),
  );

  return {
    allowlist,
    auditLog,
    ensureTables: once(async () => {
      await Promise.all([allowlist.ensureTable(), auditLog.ensureTable()]);
    }),
  };
}

/**
 * The admin API over fresh Azurite tables, recording notices instead of sending them, as it
 * runs in App Service with authentication on unless `env` says otherwise.
 */
export function createHarness(
  overrides: Partial<InvitersApiDependencies> = {},
  storage: InvitersStorage = newStorage(),
): Harness {
  const notices: AllowlistChange[] = [];
  const logs: LogLine[] = [];
  const notifier: AllowlistChangeNotifier = {
    destinationKeys: () => [],
    announce: (change) => {
      notices.push(change);

      return Promise.resolve({ undelivered: [], failures: [] });
    },
  };
  const api = createInvitersApi({ storage, notifier, env: APP_SERVICE_WITH_AUTH, ...overrides });

  return {
    api,
    storage,
    notices,
    logs,
    send: async (method, path, options) => {
      const request = hostRequest(method, path, options);
      const match = matchInvitersRoute(new URL(request.url).pathname.replace(/^\/api\//, ''));
      if (match === undefined) {
        throw new Error(`no route for ${path}`);
      }
      const raw = await routeHandler(api, match.route)(
        request,
        testContext(logs, match.route.name),
      );

      return parseResponse(raw);
    },
  };
}

export function parseResponse(raw: ApiResponse): SentResponse {
  const headers = Object.fromEntries(
    Object.entries(raw.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );

  return {
    status: raw.status,
    headers,
    body: raw.body === undefined || raw.body === '' ? undefined : JSON.parse(raw.body),
    raw,
  };
}

/** The path of an entry: the inviter URL-encoded as a client must send it. */
export function entryPath(inviter: string, suffix = ''): string {
  return `inviters/${encodeURIComponent(inviter)}${suffix}`;
}

/** One field of every item in a collection answer (`{value: [...]}`). */
export function listed(response: SentResponse, field: string): unknown[] {
  return (response.body as { value: Record<string, unknown>[] }).value.map((item) => item[field]);
}
