export interface CallerTrust {
  /**
   * Local mode (`serve`): nothing sets the principal header there, on purpose, and the server
   * answers only loopback requests addressed to itself.
   */
  localMode?: boolean;
}

/**
 * Why the caller headers cannot be trusted here, or undefined when they can. Only App Service
 * Authentication sets `x-ms-client-principal` and strips any copy a client sends; the platform
 * sets WEBSITE_AUTH_ENABLED=True when it is on. Anywhere else (a container, a VM) any client
 * could claim any role, so the header is trusted without it only in local development: local
 * mode, or Core Tools' `func start`, which sets AZURE_FUNCTIONS_ENVIRONMENT=Development. That
 * setting alone does not count in App Service (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME set),
 * where it is only an app setting, perhaps left over from debugging.
 */
export function easyAuthMisconfiguration(
  env: Record<string, string | undefined>,
  trust: CallerTrust = {},
): string | undefined {
  if (env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() === 'true' || trust.localMode === true) {
    return undefined;
  }

  const inAppService = isSet(env.WEBSITE_INSTANCE_ID) || isSet(env.WEBSITE_SITE_NAME);
  const development = env.AZURE_FUNCTIONS_ENVIRONMENT?.trim().toLowerCase() === 'development';
  if (inAppService) {
    const ignored = development
      ? '; AZURE_FUNCTIONS_ENVIRONMENT=Development does not count there'
      : '';

    return (
      'the app runs in App Service without App Service Authentication (WEBSITE_AUTH_ENABLED is ' +
      `not True)${ignored}`
    );
  }
  if (development) {
    return undefined;
  }

  return (
    'nothing vouches for the caller: WEBSITE_AUTH_ENABLED is not True (App Service ' +
    'Authentication is off, or this is not App Service) and this is not local development ' +
    '(AZURE_FUNCTIONS_ENVIRONMENT is not Development, as func start sets it)'
  );
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}
