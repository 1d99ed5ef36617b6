/** A setting is missing or wrong. The message names the setting and never echoes its value. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';

  constructor(
    readonly setting: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`Setting ${setting} ${problem}.`, options);
  }
}
