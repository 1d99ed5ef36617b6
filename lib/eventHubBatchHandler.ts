import { createHash } from 'node:crypto';

import type { InvocationContext } from '@azure/functions';

import type { Alert } from './alert';
import type { AlertSink, AlertSinkReport, SendOptions } from './alertSink';
import { decodeEventBody, elementsOf, UnparsableElement } from './auditInput';
import type { AllowlistProvider } from './cachedAllowlist';
import type { UnreadableRecord, UnreadableRecordSink } from './deadLetterStore';
import { remainingBudgetMs } from './deliveryBudget';
import {
  addSummaries,
  detectInvitations,
  emptySummary,
  type DetectionProblem,
  type DetectionResult,
} from './detectInvitations';
import { guestInvitationRule } from './detectionRule';
import { cutText } from './storableText';

export interface BatchHandlerDependencies {
  allowlist: AllowlistProvider;
  sink: AlertSink;
  /** Where unreadable records are kept for replay; without it they are only logged. */
  deadLetters?: UnreadableRecordSink;
  now?: () => Date;
}

/** At most this many per-record problems are logged one by one per batch; the rest are counted. */
const MAX_PROBLEMS_LOGGED = 20;
/**
 * Unreadable records dead-lettered one by one per message. A message with more (one 1 MB
 * message of `{}` holds some 300 000) is also dead-lettered whole, once, with the count:
 * one upsert per record would outlast the function timeout and hold them all in memory.
 */
export const MAX_DEAD_LETTERS_PER_MESSAGE = 100;
/** Attacker-chosen values are cut to this length in log lines. */
const MAX_LOGGED_VALUE = 256;
/**
 * Raw text of an unreadable record logged when it could not be dead-lettered on the last
 * retry: a real audit record (about 2 KB) whole, well under Application Insights' 32 KB.
 */
const MAX_LOGGED_RAW_TEXT = 8_000;

interface BatchMetadata {
  partitionId: string;
  sequenceNumbers: unknown[];
  offsets: unknown[];
  enqueuedTimes: unknown[];
}

/** A message with more unreadable records than are dead-lettered one by one. */
interface OverflowingMessage {
  messageIndex: number;
  where: string;
  unreadable: number;
}

/** The rule's result over the whole batch, with at most MAX_DEAD_LETTERS_PER_MESSAGE problems kept per message. */
interface BatchDetection extends DetectionResult {
  overflowing: OverflowingMessage[];
}

/**
 * The Event Hub batch handler: flattens the batch (each message holds many records), runs
 * the rule, hands the alerts to the sink, dead-letters unreadable records and logs one
 * structured summary. Nothing about the input makes it throw.
 *
 * It throws only when storage failed (an alert or a dead letter could not be written), so
 * that the retry policy in the trigger's registration runs the batch again; the alert claims
 * make that rerun send nothing twice.
 */
export function createBatchHandler(dependencies: BatchHandlerDependencies) {
  const processBatch = createBatchProcessor(dependencies);

  // The host is handed no return value: the summary is in the log.
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    await processBatch(messages, context);
  };
}

/** What the handler logs as its `{"event": "batch", ...}` line, returned to local callers. */
export type BatchSummary = ReturnType<typeof summaryOf>;

/**
 * The batch handler's work, answering with its summary: what local mode's ingest returns.
 * Throws exactly when the handler does.
 */
export function createBatchProcessor(dependencies: BatchHandlerDependencies) {
  const now = dependencies.now ?? (() => new Date());

  return async (messages: unknown, context: InvocationContext): Promise<BatchSummary> => {
    const startedAt = now();
    const batch = Array.isArray(messages) ? (messages as unknown[]) : [messages];
    const metadata = batchMetadataOf(context);
    const detection = await detectByMessage(batch, metadata, dependencies.allowlist, startedAt);

    for (const problem of detection.problems.slice(0, MAX_PROBLEMS_LOGGED)) {
      context.warn(
        `Unreadable audit record skipped at ${problem.where}: ${forLog(problem.reason, 512)}`,
      );
    }
    for (const message of detection.overflowing) {
      context.warn(
        `${message.unreadable} unreadable audit records in ${message.where}: the first ${MAX_DEAD_LETTERS_PER_MESSAGE} are dead-lettered one by one, the rest with the whole message`,
      );
    }
    if (detection.allowlistError !== undefined) {
      context.error(
        `Allowlist unavailable, so every invitation in this batch alerts: ${detection.allowlistError}`,
      );
    }
    for (const alert of detection.alerts) {
      context.warn(JSON.stringify(alertLogLine(alert)));
    }

    const finalAttempt = isFinalAttempt(context);
    let storageError: Error | undefined;
    let deadLettered = 0;
    if (dependencies.deadLetters !== undefined && detection.problems.length > 0) {
      const records = [
        ...detection.problems.map((problem) =>
          unreadableRecord(problem, batch, metadata, context.invocationId),
        ),
        ...detection.overflowing.map((message) =>
          wholeMessageRecord(message, batch, metadata, context.invocationId),
        ),
      ];
      try {
        await dependencies.deadLetters.recordUnreadable(records, now());
        deadLettered = records.length;
      } catch (error) {
        storageError = error instanceof Error ? error : new Error(describeError(error));
        context.error(
          `Dead-lettering ${records.length} unreadable record(s) failed: ${describeError(error)}`,
        );
        if (finalAttempt) {
          // No retry is left to write them: the log is the one place they are kept.
          for (const record of records) {
            context.error(unstoredRecordLine(record));
          }
        }
      }
    }

    const sendOptions: SendOptions = {
      finalAttempt,
      budgetMs: remainingBudgetMs(startedAt, now()),
    };
    const delivery: AlertSinkReport = await dependencies.sink.send(detection.alerts, sendOptions);
    for (const failure of delivery.failures) {
      context.error(`Alert delivery failed: ${failure}`);
    }
    storageError ??= delivery.retryableError;

    const unstoredAlerts = delivery.unstored ?? [];
    const summary = summaryOf({
      invocationId: context.invocationId,
      partition: metadata.partitionId,
      retry: context.retryContext?.retryCount ?? 0,
      messages: batch.length,
      detection,
      delivery,
      deadLettered,
      unstored: unstoredAlerts.length,
      storageFailed: storageError !== undefined,
    });
    context.log(JSON.stringify(summary));

    // The outbox does not have these: the log is the one place they are kept in full.
    for (const entry of unstoredAlerts) {
      context.error(
        JSON.stringify({
          event: 'alert-unstored',
          cause: entry.cause,
          finalAttempt,
          alertId: entry.alert.alertId,
          ruleId: entry.alert.ruleId,
          sentTo: entry.sentTo,
          notSentTo: entry.notSentTo,
          problem: entry.problem,
          alert: entry.alert,
        }),
      );
    }

    if (storageError !== undefined) {
      context.error(
        finalAttempt
          ? `Storage failed on the last retry; alerts that could not be stored were sent without a claim and logged as "alert-unstored" (sentTo, notSentTo): ${describeError(storageError)}`
          : `Storage failed; the batch will be retried by the trigger's retry policy: ${describeError(storageError)}`,
      );
      throw storageError;
    }

    return summary;
  };
}

function summaryOf(batch: {
  invocationId: string;
  partition: string;
  retry: number;
  messages: number;
  detection: BatchDetection;
  delivery: AlertSinkReport;
  deadLettered: number;
  unstored: number;
  storageFailed: boolean;
}) {
  const { detection, delivery } = batch;

  return {
    event: 'batch' as const,
    ruleId: guestInvitationRule.id,
    invocationId: batch.invocationId,
    partition: batch.partition,
    retry: batch.retry,
    messages: batch.messages,
    ...detection.summary,
    allowlistUnavailable: detection.allowlistError !== undefined,
    delivered: delivery.delivered,
    deliveryFailures: delivery.failed,
    duplicatesSuppressed: delivery.duplicates ?? 0,
    pendingInOutbox: delivery.pending ?? 0,
    alertsUnstored: batch.unstored,
    deadLettered: batch.deadLettered,
    unreadableInMessageDeadLetters: detection.overflowing.reduce(
      (sum, message) => sum + message.unreadable - MAX_DEAD_LETTERS_PER_MESSAGE,
      0,
    ),
    storageFailed: batch.storageFailed,
  };
}

/**
 * Runs the rule message by message, so that at most one message's problems are held at a
 * time, and keeps at most MAX_DEAD_LETTERS_PER_MESSAGE of them per message; the counts stay
 * exact. An alert found in two messages (the same record sent twice) is kept once.
 */
async function detectByMessage(
  batch: unknown[],
  metadata: BatchMetadata,
  allowlist: AllowlistProvider,
  now: Date,
): Promise<BatchDetection> {
  const result: BatchDetection = {
    alerts: [],
    problems: [],
    summary: emptySummary(),
    repeated: 0,
    overflowing: [],
  };
  const alerted = new Set<string>();

  for (let index = 0; index < batch.length; index += 1) {
    const where = messageWhere(index, metadata.sequenceNumbers[index]);
    const message = await detectInvitations(
      elementsOf(decodeEventBody(batch[index]), where, index),
      allowlist,
      now,
      alerted,
    );
    addSummaries(result.summary, message.summary);
    result.allowlistError ??= message.allowlistError;
    result.alerts.push(...message.alerts);
    result.repeated += message.repeated;
    result.problems.push(...message.problems.slice(0, MAX_DEAD_LETTERS_PER_MESSAGE));
    if (message.problems.length > MAX_DEAD_LETTERS_PER_MESSAGE) {
      result.overflowing.push({ messageIndex: index, where, unreadable: message.problems.length });
    }
  }

  return result;
}

/** Each element is numbered by its message, which its dead letter is found from. */
function messageWhere(index: number, sequence: unknown): string {
  return typeof sequence === 'number' || typeof sequence === 'string'
    ? `message ${index} (sequence ${sequence})`
    : `message ${index}`;
}

function unreadableRecord(
  problem: DetectionProblem,
  batch: unknown[],
  metadata: BatchMetadata,
  invocationId: string,
): UnreadableRecord {
  const messageIndex = problem.documentIndex ?? -1;
  // A message that was not JSON is kept whole; a record inside one is kept as JSON.
  const rawText =
    problem.element instanceof UnparsableElement
      ? messageText(batch[messageIndex])
      : jsonText(problem.element);
  const sequenceNumber = scalarText(metadata.sequenceNumbers[messageIndex]);
  // The sequence number and the place inside the message identify the event across
  // redeliveries, whatever batch it comes in; without one, the content has to.
  const inMessage = problem.where.replace(/^message \d+( \(sequence [^)]*\))?/, '');
  const identity =
    sequenceNumber === ''
      ? `${problem.where}\n${createHash('sha256').update(rawText).digest('hex')}`
      : `${metadata.partitionId}\n${sequenceNumber}\n${inMessage}`;

  return {
    identity,
    where: problem.where,
    reason: problem.reason,
    rawText,
    eventHubPartition: metadata.partitionId,
    sequenceNumber,
    offset: scalarText(metadata.offsets[messageIndex]),
    enqueuedTime: scalarText(metadata.enqueuedTimes[messageIndex]),
    invocationId,
  };
}

/** The dead letter of a whole message, for the unreadable records beyond those kept one by one. */
function wholeMessageRecord(
  message: OverflowingMessage,
  batch: unknown[],
  metadata: BatchMetadata,
  invocationId: string,
): UnreadableRecord {
  const rawText = messageText(batch[message.messageIndex]);
  const sequenceNumber = scalarText(metadata.sequenceNumbers[message.messageIndex]);
  const identity =
    sequenceNumber === ''
      ? `${message.where}\nwhole message\n${createHash('sha256').update(rawText).digest('hex')}`
      : `${metadata.partitionId}\n${sequenceNumber}\nwhole message`;

  return {
    identity,
    where: message.where,
    reason: `${message.unreadable} unreadable records in this message; the first ${MAX_DEAD_LETTERS_PER_MESSAGE} are dead-lettered one by one, and this is the whole message`,
    rawText,
    eventHubPartition: metadata.partitionId,
    sequenceNumber,
    offset: scalarText(metadata.offsets[message.messageIndex]),
    enqueuedTime: scalarText(metadata.enqueuedTimes[message.messageIndex]),
    invocationId,
  };
}

/** An unreadable record as one error line, for when it could not be dead-lettered. */
function unstoredRecordLine(record: UnreadableRecord): string {
  const line = JSON.stringify({
    event: 'record-unstored',
    where: record.where,
    reason: forLog(record.reason, 512),
    eventHubPartition: record.eventHubPartition,
    sequenceNumber: record.sequenceNumber,
    offset: record.offset,
    enqueuedTime: record.enqueuedTime,
    rawLength: record.rawText.length,
    rawText: cutText(record.rawText, MAX_LOGGED_RAW_TEXT),
  });

  // JSON leaves these two as they are; some log viewers break lines on them.
  return line.replace(
    /[\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16)}`,
  );
}

function messageText(body: unknown): string {
  if (typeof body === 'string') {
    return body;
  }
  if (body instanceof Uint8Array) {
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  }

  return jsonText(body);
}

function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch (error) {
    // Nesting deep enough to overflow the stack: keep what can be said about it.
    return `(not serialisable: ${error instanceof Error ? error.name : 'error'})`;
  }
}

function scalarText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function batchMetadataOf(context: InvocationContext): BatchMetadata {
  const metadata = context.triggerMetadata ?? {};
  const array = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
  const partitionContext = metadata.partitionContext as { partitionId?: unknown } | undefined;

  return {
    partitionId: scalarText(partitionContext?.partitionId),
    sequenceNumbers: array(metadata.sequenceNumberArray),
    offsets: array(metadata.offsetArray),
    enqueuedTimes: array(metadata.enqueuedTimeUtcArray),
  };
}

/** The trigger's retry policy has no attempt left after this one (the count lives in memory). */
function isFinalAttempt(context: InvocationContext): boolean {
  const retry = context.retryContext;

  return retry !== undefined && retry.maxRetryCount >= 0 && retry.retryCount >= retry.maxRetryCount;
}

function alertLogLine(alert: Alert): Record<string, unknown> {
  return {
    event: 'alert',
    ruleId: alert.ruleId,
    alertId: alert.alertId,
    auditId: cutText(alert.auditId, MAX_LOGGED_VALUE),
    reason: alert.reason,
    severity: alert.severity,
    inviter: cutText(
      alert.inviter.userPrincipalName ??
        alert.inviter.appId ??
        alert.inviter.servicePrincipalId ??
        'unknown',
      MAX_LOGGED_VALUE,
    ),
    invitee: alert.invitee.email === null ? null : cutText(alert.invitee.email, MAX_LOGGED_VALUE),
    result: alert.result === null ? null : cutText(alert.result, MAX_LOGGED_VALUE),
  };
}

/** One line, bounded, without control characters: reasons can quote the input. */
function forLog(value: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced.
  return cutText(value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' '), maxLength);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : 'an unknown error';
}
