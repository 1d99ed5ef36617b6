/**
 * One Entra ID audit record, whatever shape it arrived in: an Azure Monitor resource-log
 * record (Event Hubs), a Microsoft Graph directoryAudit object or a Log Analytics AuditLogs
 * row. Fields the source did not carry are undefined; nothing here is ever guessed.
 */
export interface AuditRecord {
  /** Which of the known shapes the record came in. */
  shape: AuditRecordShape;
  /** The record's own id (`properties.id`, Graph `id`, Log Analytics `Id`). */
  id: string | undefined;
  /** The audit category, e.g. `UserManagement` (not the resource-log category `AuditLogs`). */
  category: string | undefined;
  /** `activityDisplayName`, e.g. `Invite external user`. */
  activity: string | undefined;
  /** The resource-log `operationName` / Log Analytics `OperationName`, when present. */
  operationName: string | undefined;
  /** `success`, `failure`, `timeout` or whatever else the source said, lower case. */
  result: string | undefined;
  resultReason: string | undefined;
  /** When the activity happened, as the source wrote it. */
  time: string | undefined;
  tenantId: string | undefined;
  correlationId: string | undefined;
  loggedByService: string | undefined;
  initiatedBy: Initiator;
  targetResources: TargetResource[];
  /** `additionalDetails` pairs, keys kept as written (their casing varies in real data). */
  additionalDetails: AdditionalDetail[];
}

export type AuditRecordShape = 'resource-log' | 'graph' | 'log-analytics';

export type Initiator = UserInitiator | AppInitiator | UnknownInitiator;

export interface UserInitiator {
  type: 'user';
  id: string | undefined;
  userPrincipalName: string | undefined;
  displayName: string | undefined;
  ipAddress: string | undefined;
}

export interface AppInitiator {
  type: 'app';
  appId: string | undefined;
  servicePrincipalId: string | undefined;
  displayName: string | undefined;
  servicePrincipalName: string | undefined;
}

/**
 * The record names no user (object id or UPN) and no app (appId, servicePrincipalId, name).
 * What it still tells is kept for the alert: an IP address or a display name identifies nobody,
 * but helps the analyst.
 */
export interface UnknownInitiator {
  type: 'unknown';
  ipAddress?: string | undefined;
  displayName?: string | undefined;
}

export interface TargetResource {
  id: string | undefined;
  type: string | undefined;
  displayName: string | undefined;
  userPrincipalName: string | undefined;
}

export interface AdditionalDetail {
  key: string;
  value: string | undefined;
}
