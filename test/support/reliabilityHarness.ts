import { TableClient } from '@azure/data-tables';
import { InvocationContext, type RetryContext, type Timer } from '@azure/functions';

import {
  createDetectorRuntime,
  type DetectorRuntime,
  type RuntimeOverrides,
} from '../../lib/detectorRuntime';
import { buildAlert, type Alert } from '../../lib/alert';
import { StaticAllowlist } from '../../lib/cachedAllowlist';
import { createBatchHandler } from '../../lib/eventHubBatchHandler';
import { findGuestInvitation } from '../../lib/guestInvitation';
import { normalizeAuditRecord } from '../../lib/normalizeAuditRecord';
import { eventHubMessage, invitationRecord, inviterNumber, type Inviter } from './auditStream';
import type { FlakyReceiver } from './flakyReceiver';
import { uniqueTableName } from './testTables';

export interface LogLine {
  level: string;
  text: string;
}

/** The tables one simulated deployment shares between its instances. */
export interface DeploymentTables {
  connectionString: string;
  outboxTable: string;
  deadLetterTable: string;
}

export function newDeploymentTables(connectionString: string): DeploymentTables {
  return {
    connectionString,
    outboxTable: uniqueTableName('Outbox'),
    deadLetterTable: uniqueTableName('DeadLetters'),
  };
}

export const TEAMS_PATH = '/teams';
export const WEBHOOK_PATH = '/webhook';

/** Quick timings, so failures and recoveries play out in test time. */
export const FAST_DELIVERY: RuntimeOverrides = {
  delivery: { timeoutMs: 300, maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
  retryDelayMs: () => 0,
  leaseMs: 5_000,
};

/**
 * One instance of the detector: a runtime built from app settings the way the Functions app
 * builds it, pointed at the shared tables and the receiver's Teams and webhook paths.
 */
export function detectorInstance(
  tables: DeploymentTables,
  receiver: FlakyReceiver,
  extraSettings: Record<string, string> = {},
  overrides: RuntimeOverrides = FAST_DELIVERY,
): DetectorRuntime {
  return createDetectorRuntime(
    {
      TABLES_CONNECTION_STRING: tables.connectionString,
      ALERT_OUTBOX_TABLE: tables.outboxTable,
      DEAD_LETTER_TABLE: tables.deadLetterTable,
      TEAMS_WEBHOOK_URL: receiver.url(TEAMS_PATH),
      ALERT_WEBHOOK_URL: receiver.url(WEBHOOK_PATH),
      ...extraSettings,
    },
    { ...FAST_DELIVERY, ...overrides },
  );
}

/** Inviters 0 to 9 are approved; the tests' unapproved inviters come from other numbers. */
export const APPROVED_INVITERS: Inviter[] = Array.from({ length: 10 }, (_, index) =>
  inviterNumber(index),
);
export const allowlist = new StaticAllowlist(
  APPROVED_INVITERS.map((inviter) => ({ inviter: inviter.upn })),
);

export function batchHandlerFor(runtime: DetectorRuntime) {
  return createBatchHandler({
    allowlist,
    sink: runtime.sink,
    deadLetters: runtime.deadLetters,
  });
}

export interface BatchContextOptions {
  logs: LogLine[];
  messages: number;
  firstSequence?: number;
  partitionId?: string;
  retryContext?: RetryContext;
  invocationId?: string;
}

/** An InvocationContext as the Event Hubs trigger fills it for a batch (test mode). */
export function batchContext(options: BatchContextOptions): InvocationContext {
  const first = options.firstSequence ?? 1000;

  return new InvocationContext({
    invocationId: options.invocationId ?? `inv-${first}`,
    functionName: 'detectGuestInvitations',
    triggerMetadata: {
      sequenceNumberArray: Array.from({ length: options.messages }, (_, index) => first + index),
      offsetArray: Array.from({ length: options.messages }, (_, index) =>
        String(4096 * (first + index)),
      ),
      enqueuedTimeUtcArray: Array.from({ length: options.messages }, () => '2026-11-18T10:05:00Z'),
      partitionContext: {
        eventHubName: 'entra-audit-logs',
        consumerGroup: 'guest-invite-detector',
        partitionId: options.partitionId ?? '0',
      },
    },
    retryContext: options.retryContext,
    logHandler: (level, ...args) =>
      options.logs.push({ level, text: args.map((arg) => String(arg)).join(' ') }),
  });
}

export function batchSummaries(logs: LogLine[]): Record<string, unknown>[] {
  return logs
    .filter((line) => line.text.startsWith('{"event":"batch"'))
    .map((line) => JSON.parse(line.text) as Record<string, unknown>);
}

/** Each audit id once, as a map to 1, to compare with what a receiver acknowledged. */
export function once(auditIds: Iterable<string>): Map<string, number> {
  return new Map([...auditIds].map((auditId) => [auditId, 1]));
}

/** `count` invitations by unapproved inviters from `firstInviter` on, one per message. */
export function invitationMessages(
  prefix: string,
  count: number,
  at: Date,
  firstInviter = 600,
): { messages: unknown[]; auditIds: string[] } {
  const records = Array.from(
    { length: count },
    (_, index) =>
      invitationRecord(`${prefix}-${index}`, inviterNumber(firstInviter + index), at) as {
        properties: { id: string };
      },
  );

  return {
    messages: records.map((record) => eventHubMessage([record])),
    auditIds: records.map((record) => record.properties.id),
  };
}

/** A delivery row of the outbox, as an operator sees it in Storage Explorer. */
export interface StoredDelivery {
  partitionKey: string;
  destination: string;
  destinationKey: string;
  status: string;
  attempts: number;
  skips?: number;
  createdAt: string;
  pendingSince: string;
  nextAttemptAt: string;
  leasedUntil: string;
  lastError: string;
}

export async function deliveryRows(tables: DeploymentTables): Promise<StoredDelivery[]> {
  const client = TableClient.fromConnectionString(tables.connectionString, tables.outboxTable, {
    allowInsecureConnection: true,
  });
  const rows: StoredDelivery[] = [];
  for await (const entity of client.listEntities<StoredDelivery & { kind: string }>()) {
    if (entity.kind === 'delivery') {
      rows.push(entity);
    }
  }

  return rows;
}

export function requestsTo(receiver: FlakyReceiver, path: string): number {
  return receiver.messages.filter((message) => message.path === path).length;
}

export const timerTick: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: {} as never,
};

export function timerContext(logs: LogLine[]): InvocationContext {
  return new InvocationContext({
    invocationId: 'timer',
    functionName: 'redeliverAlerts',
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
  });
}

/** The alert the detector builds for an invitation by a numbered inviter nobody approved. */
export function unapprovedAlert(key: string, inviter: number, at: Date): Alert {
  const outcome = normalizeAuditRecord(invitationRecord(key, inviterNumber(inviter), at));
  const invitation = outcome.kind === 'audit' ? findGuestInvitation(outcome.record) : undefined;
  if (invitation === undefined) {
    throw new Error(`the invitation record ${key} did not read as an invitation`);
  }

  return buildAlert(invitation, 'not-approved', at);
}
