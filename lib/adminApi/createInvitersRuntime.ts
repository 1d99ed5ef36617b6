import { loadSettings, type Settings } from '../settings';
import { TableAllowlistStore } from '../tableAllowlistStore';
import type { TeamsRateLimiter } from '../teamsRateLimiter';
import { createTableClient } from '../tableServiceClients';
import { DestinationChangeNotifier } from './allowlistChangeNotifier';
import {
  createInvitersApi,
  type InvitersApi,
  type InvitersApiDependencies,
  type InvitersStorage,
} from './createInvitersApi';
import { TableAllowlistAuditLog } from './tableAllowlistAuditLog';

/**
 * The caller waits for the notice, so it is tried briefly: a dead destination delays the answer
 * by two timeouts at most. A notice that still fails is owed by its audit record and retried by
 * the redelivery timer (retryChangeNotices).
 */
const NOTICE_MAX_ATTEMPTS = 2;
const NOTICE_MAX_RETRY_AFTER_MS = 10_000;

export interface InvitersRuntime {
  settings: Settings;
  api: InvitersApi;
}

/**
 * Wires app settings to the admin API: the allowlist and audit tables (by managed identity
 * with TABLES_ENDPOINT, or a connection string for Azurite) and the alert destinations for
 * change notices. Throws ConfigurationError naming a wrong setting.
 */
export function createInvitersRuntime(
  env: Record<string, string | undefined>,
  overrides: Pick<InvitersApiDependencies, 'now' | 'onChange' | 'localMode'> & {
    /** The detector's Teams pacing on this instance, for the notices to share. */
    teamsLimiter?: TeamsRateLimiter;
  } = {},
): InvitersRuntime {
  const { teamsLimiter, ...apiOverrides } = overrides;
  const settings = loadSettings(env);
  let storage: InvitersStorage | undefined;
  if (settings.tables !== undefined) {
    const allowlist = new TableAllowlistStore(
      createTableClient(settings.tables, settings.allowlistTable),
    );
    const auditLog = new TableAllowlistAuditLog(
      createTableClient(settings.tables, settings.allowlistAuditTable),
    );
    storage = {
      allowlist,
      auditLog,
      ensureTables: once(async () => {
        await Promise.all([allowlist.ensureTable(), auditLog.ensureTable()]);
      }),
    };
  }

  const api = createInvitersApi({
    storage,
    notifier: new DestinationChangeNotifier(
      settings.destinations,
      {
        ...settings.delivery,
        maxAttempts: Math.min(settings.delivery.maxAttempts, NOTICE_MAX_ATTEMPTS),
        maxRetryAfterMs: Math.min(settings.delivery.maxRetryAfterMs, NOTICE_MAX_RETRY_AFTER_MS),
      },
      teamsLimiter,
    ),
    env,
    ...apiOverrides,
  });

  return { settings, api };
}

/** Runs `action` until it succeeds once; a failure is not remembered, so the next call retries. */
export function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;

  return () => {
    done ??= action().catch((error: unknown) => {
      done = undefined;
      throw error;
    });

    return done;
  };
}
