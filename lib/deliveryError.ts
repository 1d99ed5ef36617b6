/**
 * A notification could not be delivered to one destination. The message names the
 * destination by its label (`teams#1`) and says what happened; never the URL or a secret.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';

  constructor(
    readonly destination: string,
    readonly attempts: number,
    readonly status: number | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`Delivery to ${destination} failed after ${attempts} attempt(s): ${problem}`, options);
  }
}
