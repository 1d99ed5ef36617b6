import { randomUUID } from 'node:crypto';

import { InvocationContext, type HttpRequest } from '@azure/functions';

import { ApiProblem } from '../adminApi/apiProblem';
import { jsonResponse, problemResponse, type ApiResponse } from '../adminApi/apiResponse';
import { readJsonBody } from '../adminApi/readJsonBody';
import type { AlertSink } from '../alertSink';
import type { AllowlistProvider } from '../cachedAllowlist';
import { createBatchHandler } from '../eventHubBatchHandler';

/** One Event Hubs message is at most 1 MB and a batch 100 of them; local input stays below. */
export const MAX_INGEST_BYTES = 64 * 1024 * 1024;

/** The counts the batch handler logs that the ingest answer passes on. */
const SUMMARY_FIELDS = [
  'records',
  'invitations',
  'approved',
  'alerts',
  'unreadable',
  'ignored',
  'delivered',
  'deliveryFailures',
] as const;

export type IngestSummary = Partial<Record<(typeof SUMMARY_FIELDS)[number], number>>;

export interface IngestDependencies {
  allowlist: AllowlistProvider;
  sink: AlertSink;
  /** Where the batch handler's log lines go (the serve command's standard error). */
  log: (level: string, message: string) => void;
}

/**
 * Local mode's `POST /api/ingest`: runs an Event Hubs body (`{"records": [...]}`, or an array
 * of such messages) through the Event Hub function's own batch handler, with a real
 * InvocationContext, and answers with the batch summary the handler logs.
 */
export function createIngestHandler(dependencies: IngestDependencies) {
  const handleBatch = createBatchHandler({
    allowlist: dependencies.allowlist,
    sink: dependencies.sink,
  });

  return async (request: HttpRequest, context: InvocationContext): Promise<ApiResponse> => {
    try {
      const body = await readJsonBody(request, MAX_INGEST_BYTES);
      const messages = Array.isArray(body) ? (body as unknown[]) : [body];
      let summary: Record<string, unknown> | undefined;
      const batchContext = new InvocationContext({
        invocationId: randomUUID(),
        functionName: 'detectGuestInvitations',
        triggerMetadata: { sequenceNumberArray: messages.map((_, index) => index) },
        logHandler: (level, ...args) => {
          const message = args
            .map((arg) => (typeof arg === 'string' ? arg : String(arg)))
            .join(' ');
          summary ??= batchSummaryIn(message);
          dependencies.log(level, message);
        },
      });

      await handleBatch(messages, batchContext);
      if (summary === undefined) {
        throw new Error('the batch handler logged no batch summary');
      }

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
          `The batch could not be processed; the serve command's log (invocation ${context.invocationId}) says why.`,
        ),
        context.invocationId,
      );
    }
  };
}

/** The handler logs one JSON line `{"event": "batch", ...counts}` per batch. */
function batchSummaryIn(message: string): Record<string, unknown> | undefined {
  if (!message.startsWith('{')) {
    return undefined;
  }

  try {
    const parsed = JSON.parse(message) as Record<string, unknown>;

    return parsed.event === 'batch' ? parsed : undefined;
  } catch {
    // Another log line that happens to start with "{": not the summary.
    return undefined;
  }
}

function pickSummary(summary: Record<string, unknown>): IngestSummary {
  const picked: IngestSummary = {};
  for (const field of SUMMARY_FIELDS) {
    const value = summary[field];
    if (typeof value === 'number') {
      picked[field] = value;
    }
  }

  return picked;
}
