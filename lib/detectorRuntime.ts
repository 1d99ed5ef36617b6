import { DirectAlertSink, type AlertSink } from './alertSink';
import { CachedAllowlist, type AllowlistProvider, type AllowlistSource } from './cachedAllowlist';
import { loadSettings, type Settings } from './settings';
import { TableAllowlistStore } from './tableAllowlistStore';
import { createTableClient } from './tableServiceClients';

export interface DetectorRuntime {
  settings: Settings;
  allowlist: AllowlistProvider;
  sink: AlertSink;
}

/** Reads the allowlist from its table; invalid entities are left out (they approve nothing). */
export class TableAllowlistSource implements AllowlistSource {
  constructor(
    private readonly store: TableAllowlistStore,
    private readonly onProblem: (problem: string) => void = () => undefined,
  ) {}

  async readAll() {
    const listing = await this.store.listEntries();
    listing.problems.forEach(this.onProblem);

    return listing.entries;
  }
}

/** Without allowlist storage nothing can be approved: every invitation alerts. */
class MissingAllowlist implements AllowlistProvider {
  get(): Promise<never> {
    return Promise.reject(new Error('no allowlist storage is configured (set TABLES_ENDPOINT)'));
  }
}

/** Wires settings to the allowlist and the alert destinations. Throws ConfigurationError. */
export function createDetectorRuntime(env: Record<string, string | undefined>): DetectorRuntime {
  const settings = loadSettings(env);
  const allowlist =
    settings.tables === undefined
      ? new MissingAllowlist()
      : new CachedAllowlist(
          new TableAllowlistSource(
            new TableAllowlistStore(createTableClient(settings.tables, settings.allowlistTable)),
          ),
          settings.allowlistCacheTtlMs,
        );

  return {
    settings,
    allowlist,
    sink: new DirectAlertSink(settings.destinations, settings.delivery),
  };
}
