/**
 * Table Storage refused one alert's claim as invalid (HTTP 400) or too large (HTTP 413). Unlike
 * StorageUnavailableError this is about the alert, not the service: retrying the batch would be
 * refused the same way, so the alert is sent once without a claim instead. The message names
 * the table, the alert id and the status; never the account URL or a key.
 */
export class AlertNotStorableError extends Error {
  override readonly name = 'AlertNotStorableError';

  constructor(
    readonly table: string,
    readonly alertId: string,
    readonly status: number,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Table ${table} refused alert ${alertId}: HTTP ${status}${code === undefined ? '' : ` (${code})`}`,
      options,
    );
  }
}
