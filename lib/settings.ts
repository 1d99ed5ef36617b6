import { ConfigurationError, refuseUnresolvedKeyVaultReference } from './configurationError';
import { DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions } from './deliverNotification';
import { MAX_DESTINATIONS, parseDestinations, type Destination } from './destination';
import type { TablesConnection } from './tableServiceClients';

/** Everything the app reads from app settings / the environment, validated. */
export interface Settings {
  /** Undefined when neither TABLES_CONNECTION_STRING nor TABLES_ENDPOINT is set. */
  tables: TablesConnection | undefined;
  allowlistTable: string;
  allowlistAuditTable: string;
  alertOutboxTable: string;
  deadLetterTable: string;
  allowlistCacheTtlMs: number;
  destinations: Destination[];
  delivery: DeliveryOptions;
  reliability: ReliabilitySettings;
}

/** How alerts wait, retry and expire in the outbox, and how destinations are protected. */
export interface ReliabilitySettings {
  /** NCRONTAB schedule of the redelivery timer (functions/redeliverAlerts.ts). */
  redeliverySchedule: string;
  /** How often local mode (`serve`) runs redelivery; the timer does it in Azure. */
  localRedeliveryIntervalMs: number;
  /** A pending alert older than this is dead-lettered and logged as an error. */
  alertMaxAgeMs: number;
  /** Consecutive failed deliveries after which a destination is skipped for a while. */
  circuitBreakerFailures: number;
  circuitBreakerCooldownMs: number;
  /** Requests per second to one Teams webhook from one instance (Teams throttles above 4). */
  teamsMaxRequestsPerSecond: number;
  /** More alerts than this for one Teams webhook at once are sent as one digest card. */
  teamsDigestThreshold: number;
}

/** Each setting the app reads, with its default and what it is for (README and sample list them). */
export const SETTING_DEFAULTS = {
  ALLOWLIST_TABLE: 'ApprovedInviters',
  ALLOWLIST_AUDIT_TABLE: 'AllowlistAudit',
  ALERT_OUTBOX_TABLE: 'AlertOutbox',
  DEAD_LETTER_TABLE: 'DeadLetters',
  ALLOWLIST_CACHE_TTL_SECONDS: '60',
  DELIVERY_TIMEOUT_MS: String(DEFAULT_DELIVERY_OPTIONS.timeoutMs),
  DELIVERY_MAX_ATTEMPTS: String(DEFAULT_DELIVERY_OPTIONS.maxAttempts),
  REDELIVERY_SCHEDULE: '0 */1 * * * *',
  LOCAL_REDELIVERY_INTERVAL_SECONDS: '60',
  ALERT_MAX_AGE_HOURS: '24',
  CIRCUIT_BREAKER_FAILURES: '5',
  CIRCUIT_BREAKER_COOLDOWN_SECONDS: '60',
  // 3 rather than Teams' 4: requests spaced 250 ms apart can arrive closer than that.
  TEAMS_MAX_REQUESTS_PER_SECOND: '3',
  TEAMS_DIGEST_THRESHOLD: '5',
} as const;

// Table names: 3 to 63 letters and digits, starting with a letter.
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
// Standard Webhooks secrets are `whsec_` and base64 of at least 24 bytes.
const SIGNING_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

type Environment = Record<string, string | undefined>;

export function loadSettings(env: Environment): Settings {
  const signingSecret = readSigningSecret(env);

  return {
    tables: readTablesConnection(env),
    allowlistTable: readTableName(env, 'ALLOWLIST_TABLE'),
    allowlistAuditTable: readTableName(env, 'ALLOWLIST_AUDIT_TABLE'),
    alertOutboxTable: readTableName(env, 'ALERT_OUTBOX_TABLE'),
    deadLetterTable: readTableName(env, 'DEAD_LETTER_TABLE'),
    allowlistCacheTtlMs: readInteger(env, 'ALLOWLIST_CACHE_TTL_SECONDS', 0, 86_400) * 1000,
    destinations: readDestinations(env, signingSecret),
    delivery: {
      ...DEFAULT_DELIVERY_OPTIONS,
      timeoutMs: readInteger(env, 'DELIVERY_TIMEOUT_MS', 100, 120_000),
      maxAttempts: readInteger(env, 'DELIVERY_MAX_ATTEMPTS', 1, 10),
    },
    reliability: readReliabilitySettings(env),
  };
}

// Six NCRONTAB fields (second minute hour day month day-of-week), as timer triggers take them.
const NCRONTAB_FIELD = /^[0-9A-Za-z*/,-]+$/;

function readReliabilitySettings(env: Environment): ReliabilitySettings {
  const schedule = nonEmpty(env.REDELIVERY_SCHEDULE) ?? SETTING_DEFAULTS.REDELIVERY_SCHEDULE;
  const fields = schedule.split(/\s+/);
  if (fields.length !== 6 || !fields.every((part) => NCRONTAB_FIELD.test(part))) {
    throw new ConfigurationError(
      'REDELIVERY_SCHEDULE',
      'must be a six-field NCRONTAB expression such as "0 */1 * * * *" (every minute)',
    );
  }

  return {
    redeliverySchedule: fields.join(' '),
    localRedeliveryIntervalMs:
      readInteger(env, 'LOCAL_REDELIVERY_INTERVAL_SECONDS', 1, 3600) * 1000,
    alertMaxAgeMs: readInteger(env, 'ALERT_MAX_AGE_HOURS', 1, 168) * 3_600_000,
    circuitBreakerFailures: readInteger(env, 'CIRCUIT_BREAKER_FAILURES', 1, 100),
    circuitBreakerCooldownMs: readInteger(env, 'CIRCUIT_BREAKER_COOLDOWN_SECONDS', 1, 3600) * 1000,
    teamsMaxRequestsPerSecond: readInteger(env, 'TEAMS_MAX_REQUESTS_PER_SECOND', 1, 4),
    teamsDigestThreshold: readInteger(env, 'TEAMS_DIGEST_THRESHOLD', 1, 100),
  };
}

function readDestinations(env: Environment, signingSecret: string | undefined): Destination[] {
  const teams = parseDestinations('TEAMS_WEBHOOK_URL', env.TEAMS_WEBHOOK_URL, 'teams');
  const webhooks = parseDestinations(
    'ALERT_WEBHOOK_URL',
    env.ALERT_WEBHOOK_URL,
    'webhook',
    signingSecret,
  );
  if (teams.length + webhooks.length > MAX_DESTINATIONS) {
    throw new ConfigurationError(
      'ALERT_WEBHOOK_URL',
      `and TEAMS_WEBHOOK_URL list ${teams.length + webhooks.length} URLs together; at most ${MAX_DESTINATIONS} destinations are supported in all`,
    );
  }
  const teamsUrls = new Map(teams.map((destination, index) => [destination.url.href, index]));
  for (const [index, webhook] of webhooks.entries()) {
    const teamsIndex = teamsUrls.get(webhook.url.href);
    if (teamsIndex !== undefined) {
      throw new ConfigurationError(
        'ALERT_WEBHOOK_URL',
        `repeats a URL of TEAMS_WEBHOOK_URL (URL ${index + 1} here, URL ${teamsIndex + 1} there); a URL is either a Teams workflow or a generic webhook`,
      );
    }
  }

  return [...teams, ...webhooks];
}

function readTablesConnection(env: Environment): TablesConnection | undefined {
  const connectionString = nonEmpty(env.TABLES_CONNECTION_STRING);
  const endpoint = nonEmpty(env.TABLES_ENDPOINT);
  if (connectionString !== undefined && endpoint !== undefined) {
    throw new ConfigurationError(
      'TABLES_ENDPOINT',
      'and TABLES_CONNECTION_STRING are both set; set only one (the endpoint in Azure)',
    );
  }
  if (connectionString !== undefined) {
    return { kind: 'connection-string', connectionString };
  }
  if (endpoint === undefined) {
    return undefined;
  }

  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigurationError(
      'TABLES_ENDPOINT',
      'is not a URL; expected https://<account>.table.core.windows.net/',
    );
  }
  if (url.protocol !== 'https:') {
    throw new ConfigurationError('TABLES_ENDPOINT', 'must be an https URL');
  }

  return { kind: 'endpoint', endpoint: url.toString() };
}

function readTableName(env: Environment, name: keyof typeof SETTING_DEFAULTS): string {
  const value = nonEmpty(env[name]) ?? SETTING_DEFAULTS[name];
  if (!TABLE_NAME.test(value)) {
    throw new ConfigurationError(
      name,
      'must be a table name: 3 to 63 letters and digits, starting with a letter',
    );
  }

  return value;
}

function readInteger(
  env: Environment,
  name: keyof typeof SETTING_DEFAULTS,
  min: number,
  max: number,
): number {
  const raw = nonEmpty(env[name]) ?? SETTING_DEFAULTS[name];
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigurationError(name, `must be a whole number from ${min} to ${max}`);
  }

  return Number(raw);
}

function readSigningSecret(env: Environment): string | undefined {
  const secret = nonEmpty(env.ALERT_WEBHOOK_SECRET);
  if (secret === undefined) {
    return undefined;
  }
  refuseUnresolvedKeyVaultReference('ALERT_WEBHOOK_SECRET', secret);
  if (
    !SIGNING_SECRET.test(secret) ||
    Buffer.from(secret.slice('whsec_'.length), 'base64').length < 24
  ) {
    throw new ConfigurationError(
      'ALERT_WEBHOOK_SECRET',
      'must be a Standard Webhooks secret: "whsec_" followed by base64 of at least 24 random bytes',
    );
  }

  return secret;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
