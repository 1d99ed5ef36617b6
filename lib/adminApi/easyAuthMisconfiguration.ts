/**
 * Why the caller headers cannot be trusted here, or undefined when they can. In App Service
 * (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME set) only the platform's authentication module
 * sets and strips `x-ms-client-principal`; without it any client could claim any role. The
 * platform sets WEBSITE_AUTH_ENABLED=True when authentication is on.
 */
export function easyAuthMisconfiguration(
  env: Record<string, string | undefined>,
): string | undefined {
  const inAppService = isSet(env.WEBSITE_INSTANCE_ID) || isSet(env.WEBSITE_SITE_NAME);
  if (!inAppService || env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() === 'true') {
    return undefined;
  }

  return 'the app runs in App Service without App Service Authentication (WEBSITE_AUTH_ENABLED is not True)';
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}
