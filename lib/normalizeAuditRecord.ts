import type { AdditionalDetail, AuditRecord, Initiator, TargetResource } from './auditRecord';
import {
  dynamicColumn,
  field,
  isJsonObject,
  objectOrUndefined,
  text,
  type JsonObject,
} from './jsonFields';

/** What reading one element of the input gave. */
export type RecordOutcome =
  | { kind: 'audit'; record: AuditRecord }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unreadable'; reason: string };

/** The fields that tell whether a rule applies to a record; the rest is read only if one does. */
export type AuditRecordHead = Pick<
  AuditRecord,
  'shape' | 'category' | 'activity' | 'operationName'
>;

/** What reading only the head of one element gave; the same kinds as RecordOutcome. */
export type HeadOutcome =
  | { kind: 'audit'; head: AuditRecordHead }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unreadable'; reason: string };

/** The shapes of audit record this reads. */
type AuditShape = 'resource-log' | 'preview-resource-log' | 'graph' | 'log-analytics';

/** Why an element is not an audit record of a shape this reads. */
interface Refusal {
  kind: 'ignored' | 'unreadable';
  reason: string;
}

// Graph's operationResult enum, which old resource-log records carry as a number.
const NUMERIC_RESULTS = ['success', 'failure', 'timeout', 'unknownfuturevalue'];

/**
 * Turns one parsed element of any supported shape into an AuditRecord.
 * Records of other log categories (sign-ins, provisioning, ...) are ignored, not errors;
 * anything that is not a recognisable record is unreadable, with the reason.
 */
export function normalizeAuditRecord(element: unknown): RecordOutcome {
  const shape = recognise(element);
  if (typeof shape !== 'string') {
    return shape;
  }

  // recognise() has checked that the element is an object, and its properties too.
  const record = element as JsonObject;
  switch (shape) {
    case 'resource-log':
      return audit(readResourceLogRecord(record, record.properties as JsonObject));
    case 'preview-resource-log':
      return audit(readPreviewResourceLogRecord(record, record.properties as JsonObject));
    case 'graph':
      return audit(readGraphRecord(record));
    case 'log-analytics':
      return audit(readLogAnalyticsRow(record));
  }
}

/**
 * Reads only what decides whether a rule applies (category, activity, operation name), with
 * the same outcome kinds and reasons as normalizeAuditRecord. Most records are not
 * invitations, and this spares them building targets and details (and, for Log Analytics
 * rows, parsing their JSON-text columns a second time).
 */
export function readAuditRecordHead(element: unknown): HeadOutcome {
  const shape = recognise(element);
  if (typeof shape !== 'string') {
    return shape;
  }

  return { kind: 'audit', head: headOf(shape, element as JsonObject) };
}

/** What screenAuditRecord tells of one element. */
export type Screening = 'match' | 'audit' | { kind: 'ignored' | 'unreadable'; reason: string };

/**
 * The question every record of the stream is asked first, answered without building
 * anything: is it an audit record whose head `matches` accepts ('match'), another audit
 * record ('audit'), or neither (ignored or unreadable, and why, as readAuditRecordHead says).
 * The same decision as readAuditRecordHead followed by `matches`.
 */
export function screenAuditRecord(
  element: unknown,
  matches: (head: AuditRecordHead) => boolean,
): Screening {
  const shape = recognise(element);
  if (typeof shape !== 'string') {
    return shape;
  }

  return matches(headOf(shape, element as JsonObject)) ? 'match' : 'audit';
}

function headOf(shape: AuditShape, element: JsonObject): AuditRecordHead {
  switch (shape) {
    case 'resource-log':
      return resourceLogHead(element, element.properties as JsonObject);
    case 'preview-resource-log':
      return previewResourceLogHead(element, element.properties as JsonObject);
    case 'graph':
      return graphHead(element);
    case 'log-analytics':
      return logAnalyticsHead(element);
  }
}

/** The element's shape; for anything else, whether it is ignored or unreadable, and why. */
function recognise(element: unknown): AuditShape | Refusal {
  if (!isJsonObject(element)) {
    return { kind: 'unreadable', reason: `expected a JSON object, got ${describeType(element)}` };
  }

  if (Object.hasOwn(element, 'properties')) {
    return recogniseResourceLogRecord(element);
  }
  if (Object.hasOwn(element, 'activityDisplayName') || Object.hasOwn(element, 'initiatedBy')) {
    return 'graph';
  }
  if (
    Object.hasOwn(element, 'OperationName') ||
    Object.hasOwn(element, 'ActivityDisplayName') ||
    Object.hasOwn(element, 'InitiatedBy')
  ) {
    const table = text(element.Type);
    if (table !== undefined && table.toLowerCase() !== 'auditlogs') {
      return { kind: 'ignored', reason: `Log Analytics table ${table.slice(0, 64)}` };
    }

    return 'log-analytics';
  }

  return {
    kind: 'unreadable',
    reason:
      'not an Entra audit record: expected a resource-log record with "properties", a Graph ' +
      'directoryAudit with "activityDisplayName" or a Log Analytics row with "OperationName"',
  };
}

function audit(record: AuditRecord): RecordOutcome {
  return { kind: 'audit', record };
}

/** Azure Monitor resource-log record, as Entra diagnostic settings stream it to Event Hubs. */
function recogniseResourceLogRecord(element: JsonObject): AuditShape | Refusal {
  const properties = element.properties;
  if (!isJsonObject(properties)) {
    return {
      kind: 'unreadable',
      reason: `"properties" must be an object, got ${describeType(properties)}`,
    };
  }

  const logCategory = text(element.category);
  // Entra writes "AuditLogs" exactly; the check spares nearly every record a lower-case copy.
  if (logCategory === undefined || logCategory === 'AuditLogs') {
    return 'resource-log';
  }

  const lowerCategory = logCategory.toLowerCase();
  // Pre-GA records used the category "Audit" and a flat property bag.
  if (lowerCategory === 'audit') {
    return 'preview-resource-log';
  }
  if (lowerCategory !== 'auditlogs') {
    return { kind: 'ignored', reason: `log category ${logCategory.slice(0, 64)}` };
  }

  return 'resource-log';
}

function resourceLogHead(element: JsonObject, properties: JsonObject): AuditRecordHead {
  return {
    shape: 'resource-log',
    category: text(properties.category),
    activity: text(properties.activityDisplayName),
    operationName: text(element.operationName),
  };
}

function readResourceLogRecord(element: JsonObject, properties: JsonObject): AuditRecord {
  const head = resourceLogHead(element, properties);

  return {
    shape: head.shape,
    id: text(properties.id),
    category: head.category,
    activity: head.activity,
    operationName: head.operationName,
    result: normalizeResult(properties.result ?? element.resultType),
    resultReason: text(properties.resultReason) ?? text(element.resultDescription),
    time: text(properties.activityDateTime) ?? text(element.time),
    tenantId: text(element.tenantId) ?? tenantFromResourceId(element.resourceId),
    correlationId: text(properties.correlationId) ?? text(element.correlationId),
    loggedByService: text(properties.loggedByService),
    initiatedBy: readInitiator(properties.initiatedBy),
    targetResources: readTargets(properties.targetResources),
    additionalDetails: readAdditionalDetails(properties.additionalDetails),
  };
}

function previewResourceLogHead(element: JsonObject, properties: JsonObject): AuditRecordHead {
  return {
    shape: 'resource-log',
    category: text(properties.auditEventCategory),
    activity: text(element.operationName),
    operationName: text(element.operationName),
  };
}

function readPreviewResourceLogRecord(element: JsonObject, properties: JsonObject): AuditRecord {
  const head = previewResourceLogHead(element, properties);
  const identity = text(element.identity);
  const identityIsUpn = text(properties.identityType)?.toUpperCase() === 'UPN';

  return {
    shape: head.shape,
    id: undefined,
    category: head.category,
    activity: head.activity,
    operationName: head.operationName,
    result: normalizeResult(element.resultType),
    resultReason: undefined,
    time: text(element.time),
    tenantId: text(element.tenantId),
    correlationId: text(element.correlationId),
    loggedByService: undefined,
    initiatedBy:
      identity !== undefined && identityIsUpn
        ? {
            type: 'user',
            id: undefined,
            userPrincipalName: identity,
            displayName: undefined,
            ipAddress: undefined,
          }
        : { type: 'unknown' },
    targetResources: [],
    additionalDetails: [],
  };
}

function graphHead(element: JsonObject): AuditRecordHead {
  return {
    shape: 'graph',
    category: text(element.category),
    activity: text(element.activityDisplayName),
    operationName: undefined,
  };
}

/** Microsoft Graph `directoryAudit`; it carries no tenant id of its own. */
function readGraphRecord(element: JsonObject): AuditRecord {
  const head = graphHead(element);

  return {
    shape: head.shape,
    id: text(element.id),
    category: head.category,
    activity: head.activity,
    operationName: head.operationName,
    result: normalizeResult(element.result),
    resultReason: text(element.resultReason),
    time: text(element.activityDateTime),
    tenantId: undefined,
    correlationId: text(element.correlationId),
    loggedByService: text(element.loggedByService),
    initiatedBy: readInitiator(element.initiatedBy),
    targetResources: readTargets(field(element, 'targetResources', 'targetResource')),
    additionalDetails: readAdditionalDetails(element.additionalDetails),
  };
}

function logAnalyticsHead(element: JsonObject): AuditRecordHead {
  return {
    shape: 'log-analytics',
    category: text(element.Category),
    activity: text(element.ActivityDisplayName),
    operationName: text(element.OperationName),
  };
}

/** A row of the Log Analytics `AuditLogs` table; `TenantId` there is the workspace's. */
function readLogAnalyticsRow(element: JsonObject): AuditRecord {
  const head = logAnalyticsHead(element);

  return {
    shape: head.shape,
    id: text(element.Id),
    category: head.category,
    activity: head.activity,
    operationName: head.operationName,
    result: normalizeResult(element.Result),
    resultReason: text(element.ResultReason),
    time: text(element.ActivityDateTime) ?? text(element.TimeGenerated),
    tenantId: text(element.AADTenantId),
    correlationId: text(element.CorrelationId),
    loggedByService: text(element.LoggedByService),
    initiatedBy: readInitiator(dynamicColumn(element.InitiatedBy)),
    targetResources: readTargets(dynamicColumn(element.TargetResources)),
    additionalDetails: readAdditionalDetails(dynamicColumn(element.AdditionalDetails)),
  };
}

/**
 * `initiatedBy` is `{user}`, `{app}`, `{user, app: null}` or `{}` in real data. A user or app
 * object whose identifying fields are all empty does not count as naming anyone. Keys are read
 * without regard to case: Graph objects that went through PowerShell arrive as `User.Id`,
 * `UserPrincipalName`, `IPAddress`.
 */
export function readInitiator(value: unknown): Initiator {
  const initiatedBy = objectOrUndefined(value);
  if (initiatedBy === undefined) {
    return { type: 'unknown' };
  }

  const user = objectOrUndefined(field(initiatedBy, 'user'));
  const userIp = user === undefined ? undefined : text(field(user, 'ipAddress'));
  const userName = user === undefined ? undefined : text(field(user, 'displayName'));
  if (user !== undefined) {
    const id = text(field(user, 'id'));
    const userPrincipalName = text(field(user, 'userPrincipalName'));
    if (id !== undefined || userPrincipalName !== undefined) {
      return { type: 'user', id, userPrincipalName, displayName: userName, ipAddress: userIp };
    }
  }

  const app = objectOrUndefined(field(initiatedBy, 'app'));
  if (app !== undefined) {
    const appId = text(field(app, 'appId'));
    const servicePrincipalId = text(field(app, 'servicePrincipalId'));
    const displayName = text(field(app, 'displayName'));
    if (appId !== undefined || servicePrincipalId !== undefined || displayName !== undefined) {
      return {
        type: 'app',
        appId,
        servicePrincipalId,
        displayName,
        servicePrincipalName: text(field(app, 'servicePrincipalName')),
      };
    }
  }

  return { type: 'unknown', ipAddress: userIp, displayName: userName };
}

function readTargets(value: unknown): TargetResource[] {
  if (!Array.isArray(value)) {
    return [];
  }

  const targets: TargetResource[] = [];
  for (const item of value) {
    if (!isJsonObject(item)) {
      continue;
    }
    targets.push({
      id: text(field(item, 'id')),
      type: text(field(item, 'type')),
      displayName: text(field(item, 'displayName')),
      userPrincipalName: text(field(item, 'userPrincipalName')),
    });
  }

  return targets;
}

function readAdditionalDetails(value: unknown): AdditionalDetail[] {
  if (!Array.isArray(value)) {
    return [];
  }

  const details: AdditionalDetail[] = [];
  for (const item of value) {
    if (!isJsonObject(item)) {
      continue;
    }
    const key = text(field(item, 'key'));
    if (key === undefined) {
      continue;
    }
    const raw = field(item, 'value');
    details.push({
      key,
      value: typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : text(raw),
    });
  }

  return details;
}

/** `success`, `failure`, `timeout`; old records carry Graph's enum as a number, one test set `failed`. */
export function normalizeResult(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) {
    return NUMERIC_RESULTS[value] ?? String(value);
  }

  const result = text(value)?.trim().toLowerCase();
  if (result === 'failed') {
    return 'failure';
  }

  return result;
}

function tenantFromResourceId(value: unknown): string | undefined {
  const resourceId = text(value);
  const match = resourceId === undefined ? null : /^\/tenants\/([^/]+)\//i.exec(resourceId);

  return match?.[1];
}

export function describeType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }

  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
