import { ConfigurationError } from './configurationError';

/** The connection name the Event Hub trigger is registered with. */
export const AUDIT_EVENT_HUB_CONNECTION = 'AuditEventHub';

// Event Hubs names: letters, digits, periods, hyphens and underscores, starting and ending with
// a letter or digit (consumer groups likewise), at most 256 characters.
const ENTITY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
// `<namespace>.servicebus.windows.net` in the public cloud; other clouds end differently.
const NAMESPACE_HOST = /^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]\.servicebus(\.[A-Za-z0-9-]+)+$/;

/**
 * Checks the settings the Event Hub trigger's binding reads (the hub, the consumer group and
 * the connection), which the Functions host would otherwise report only as a binding error,
 * far from the setting that was wrong. Throws ConfigurationError naming it; never echoes a
 * connection string.
 */
export function checkEventHubTriggerSettings(env: Record<string, string | undefined>): void {
  for (const setting of ['AUDIT_EVENTHUB_NAME', 'AUDIT_EVENTHUB_CONSUMER_GROUP']) {
    const value = env[setting]?.trim() ?? '';
    if (value === '') {
      throw new ConfigurationError(setting, 'is not set');
    }
    if (!ENTITY_NAME.test(value)) {
      throw new ConfigurationError(
        setting,
        'must be an Event Hubs name: letters, digits, ".", "-" and "_", starting and ending with a letter or digit',
      );
    }
  }

  const namespaceSetting = `${AUDIT_EVENT_HUB_CONNECTION}__fullyQualifiedNamespace`;
  const namespace = env[namespaceSetting]?.trim() ?? '';
  const connectionString = env[AUDIT_EVENT_HUB_CONNECTION]?.trim() ?? '';
  if (namespace === '' && connectionString === '') {
    throw new ConfigurationError(
      namespaceSetting,
      `is not set: name the Event Hubs namespace (<namespace>.servicebus.windows.net), read with the managed identity (or, for local runs only, put a connection string in ${AUDIT_EVENT_HUB_CONNECTION})`,
    );
  }
  if (namespace !== '' && !NAMESPACE_HOST.test(namespace)) {
    throw new ConfigurationError(
      namespaceSetting,
      'must be the namespace host name alone, such as evhns-gid.servicebus.windows.net (no sb:// or https://, no path)',
    );
  }
}
