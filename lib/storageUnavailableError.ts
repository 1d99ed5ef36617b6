import { tableErrorStatus } from './tableErrorStatus';

/**
 * Table Storage could not be read or written. The message names the table, what was being
 * done and the status or error code; never the account URL or a key. Raised so that the
 * Event Hub trigger's retry policy runs the batch again.
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';

  constructor(
    readonly table: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Table ${table} could not ${operation}: ${describeStorageFailure(options?.cause)}`,
      options,
    );
  }
}

/** `HTTP 503 (ServerBusy)`, `no answer (ECONNREFUSED)`: from the status and code only. */
export function describeStorageFailure(error: unknown): string {
  const status = tableErrorStatus(error);
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code) ? code : undefined;
  if (status !== undefined) {
    return codeText === undefined ? `HTTP ${status}` : `HTTP ${status} (${codeText})`;
  }

  return codeText === undefined ? 'no answer' : `no answer (${codeText})`;
}
