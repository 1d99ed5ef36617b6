import type { InvocationContext } from '@azure/functions';

import type { AlertSink } from './alertSink';
import { decodeEventBody, elementsOf, type LocatedElement } from './auditInput';
import type { AllowlistProvider } from './cachedAllowlist';
import { detectInvitations } from './detectInvitations';
import { guestInvitationRule } from './detectionRule';

export interface BatchHandlerDependencies {
  allowlist: AllowlistProvider;
  sink: AlertSink;
  now?: () => Date;
}

/** At most this many per-record problems are logged one by one per batch; the rest are counted. */
const MAX_PROBLEMS_LOGGED = 20;

/**
 * The Event Hub batch handler: flattens the batch (each message holds many records), runs
 * the rule, sends the alerts and logs one structured summary. Broken messages and records
 * are logged and skipped; nothing about the input makes it throw.
 */
export function createBatchHandler(dependencies: BatchHandlerDependencies) {
  const now = dependencies.now ?? (() => new Date());

  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const batch = Array.isArray(messages) ? (messages as unknown[]) : [messages];
    const sequenceNumbers = sequenceNumbersOf(context);
    const elements = flatten(batch, sequenceNumbers);
    const detection = await detectInvitations(elements, dependencies.allowlist, now());

    for (const problem of detection.problems.slice(0, MAX_PROBLEMS_LOGGED)) {
      context.warn(`Unreadable audit record skipped at ${problem.where}: ${problem.reason}`);
    }
    if (detection.allowlistError !== undefined) {
      context.error(
        `Allowlist unavailable, so every invitation in this batch alerts: ${detection.allowlistError}`,
      );
    }
    for (const alert of detection.alerts) {
      context.warn(
        JSON.stringify({
          event: 'alert',
          ruleId: alert.ruleId,
          alertId: alert.alertId,
          auditId: alert.auditId,
          reason: alert.reason,
          severity: alert.severity,
          inviter:
            alert.inviter.userPrincipalName ??
            alert.inviter.appId ??
            alert.inviter.servicePrincipalId ??
            'unknown',
          invitee: alert.invitee.email,
          result: alert.result,
        }),
      );
    }

    const delivery = await dependencies.sink.send(detection.alerts);
    for (const failure of delivery.failures) {
      context.error(`Alert delivery failed: ${failure}`);
    }

    context.log(
      JSON.stringify({
        event: 'batch',
        ruleId: guestInvitationRule.id,
        invocationId: context.invocationId,
        messages: batch.length,
        ...detection.summary,
        allowlistUnavailable: detection.allowlistError !== undefined,
        delivered: delivery.delivered,
        deliveryFailures: delivery.failed,
      }),
    );
  };
}

function* flatten(batch: unknown[], sequenceNumbers: unknown[]): Generator<LocatedElement> {
  for (let index = 0; index < batch.length; index += 1) {
    const sequence = sequenceNumbers[index];
    const where =
      typeof sequence === 'number' || typeof sequence === 'string'
        ? `message ${index} (sequence ${sequence})`
        : `message ${index}`;
    yield* elementsOf(decodeEventBody(batch[index]), where);
  }
}

function sequenceNumbersOf(context: InvocationContext): unknown[] {
  const value = context.triggerMetadata?.sequenceNumberArray;

  return Array.isArray(value) ? (value as unknown[]) : [];
}
