import { randomUUID } from 'node:crypto';

import { InvocationContext, type HttpRequest } from '@azure/functions';

import { ApiProblem } from '../adminApi/apiProblem';
import { jsonResponse, problemResponse, type ApiResponse } from '../adminApi/apiResponse';
import { readJsonBody } from '../adminApi/readJsonBody';
import type { AlertSink } from '../alertSink';
import type { AllowlistProvider } from '../cachedAllowlist';
import type { UnreadableRecordSink } from '../deadLetterStore';
import { createBatchProcessor, type BatchSummary } from '../eventHubBatchHandler';

/** One Event Hubs message is at most 1 MB and a batch 100 of them; local input stays below. */
export const MAX_INGEST_BYTES = 64 * 1024 * 1024;

/** The counts of the batch summary that the ingest answer passes on. */
const SUMMARY_FIELDS = [
  'records',
  'invitations',
  'approved',
  'alerts',
  'unreadable',
  'ignored',
  'delivered',
  'deliveryFailures',
  'duplicatesSuppressed',
  'pendingInOutbox',
  'deadLettered',
] as const;

export type IngestSummary = Pick<BatchSummary, (typeof SUMMARY_FIELDS)[number]>;

export interface IngestDependencies {
  allowlist: AllowlistProvider;
  sink: AlertSink;
  deadLetters: UnreadableRecordSink | undefined;
  /** Where the batch handler's log lines go (the serve command's standard error). */
  log: (level: string, message: string) => void;
}

/**
 * Local mode's `POST /api/ingest`: runs an Event Hubs body (`{"records": [...]}`, or an array
 * of such messages) through the Event Hub function's own batch handler, with a real
 * InvocationContext, and answers with the counts of its batch summary. A batch that storage
 * failed answers 500 (in Azure the trigger's retry policy would run it again); its claims make
 * sending it again safe.
 */
export function createIngestHandler(dependencies: IngestDependencies) {
  const processBatch = createBatchProcessor({
    allowlist: dependencies.allowlist,
    sink: dependencies.sink,
    deadLetters: dependencies.deadLetters,
  });

  return async (request: HttpRequest, context: InvocationContext): Promise<ApiResponse> => {
    try {
      const body = await readJsonBody(request, MAX_INGEST_BYTES);
      const messages = Array.isArray(body) ? (body as unknown[]) : [body];
      const batchContext = new InvocationContext({
        invocationId: randomUUID(),
        functionName: 'detectGuestInvitations',
        // No sequence numbers: each request numbers its messages from 0 again, so they would
        // not tell one request's message 0 from another's, and their dead letters would
        // overwrite each other. Without them a dead letter is known by its content.
        triggerMetadata: {},
        logHandler: (level, ...args) => {
          const message = args
            .map((arg) => (typeof arg === 'string' ? arg : String(arg)))
            .join(' ');
          dependencies.log(level, message);
        },
      });

      const summary = await processBatch(messages, batchContext);

      return jsonResponse(200, pickSummary(summary));
    } catch (error) {
      if (error instanceof ApiProblem) {
        return problemResponse(error, context.invocationId);
      }

      context.error(
        `Ingest failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );

      return problemResponse(
        new ApiProblem(
          'internal-error',
          `The batch could not be processed; the serve command's log (invocation ${context.invocationId}) says why. Sending the same body again is safe: no alert is sent twice.`,
        ),
        context.invocationId,
      );
    }
  };
}

function pickSummary(summary: BatchSummary): IngestSummary {
  return Object.fromEntries(
    SUMMARY_FIELDS.map((field) => [field, summary[field]]),
  ) as IngestSummary;
}
