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

/**
 * App Service leaves a Key Vault reference's own text in the setting while it cannot resolve it
 * (the identity's Key Vault role can take minutes to apply after a deployment). Said as such,
 * rather than as a malformed value.
 */
export function refuseUnresolvedKeyVaultReference(setting: string, value: string): void {
  if (value.trim().startsWith('@Microsoft.KeyVault(')) {
    throw new ConfigurationError(
      setting,
      'is a Key Vault reference that App Service has not resolved: check its status under the ' +
        "app's environment variables (the app's identity needs Key Vault Secrets User on the " +
        'vault), then restart the app',
    );
  }
}
