import { ConfigurationError } from '../lib/configurationError';
import { loadSettings } from '../lib/settings';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

describe('settings', () => {
  it('has working defaults when nothing is set', () => {
    const settings = loadSettings({});

    expect(settings).toMatchObject({
      tables: undefined,
      allowlistTable: 'ApprovedInviters',
      allowlistAuditTable: 'AllowlistAudit',
      allowlistCacheTtlMs: 60_000,
      destinations: [],
      delivery: { timeoutMs: 10_000, maxAttempts: 4 },
    });
  });

  it('reads an endpoint for managed identity, destinations and the signing secret', () => {
    const settings = loadSettings({
      TABLES_ENDPOINT: 'https://stgid.table.core.windows.net/',
      TEAMS_WEBHOOK_URL:
        'https://prod.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=x',
      ALERT_WEBHOOK_URL: 'https://soc.example/hooks/entra',
      ALERT_WEBHOOK_SECRET: SECRET,
      ALLOWLIST_CACHE_TTL_SECONDS: '15',
    });

    expect(settings.tables).toEqual({
      kind: 'endpoint',
      endpoint: 'https://stgid.table.core.windows.net/',
    });
    expect(settings.allowlistCacheTtlMs).toBe(15_000);
    expect(
      settings.destinations.map((destination) => [destination.label, destination.signingSecret]),
    ).toEqual([
      ['teams#1', undefined],
      ['webhook#1', SECRET],
    ]);
  });

  it('accepts 99 destinations, the most one outbox transaction holds', () => {
    const settings = loadSettings({
      TEAMS_WEBHOOK_URL: 'https://teams.example/0',
      ALERT_WEBHOOK_URL: Array.from(
        { length: 98 },
        (_, index) => `https://soc.example/${index}`,
      ).join(' '),
    });

    expect(settings.destinations).toHaveLength(99);
  });

  it.each([
    [
      { ALLOWLIST_CACHE_TTL_SECONDS: 'soon' },
      'Setting ALLOWLIST_CACHE_TTL_SECONDS must be a whole number from 0 to 86400.',
    ],
    [
      { DELIVERY_MAX_ATTEMPTS: '0' },
      'Setting DELIVERY_MAX_ATTEMPTS must be a whole number from 1 to 10.',
    ],
    [
      { ALLOWLIST_TABLE: 'approved-inviters' },
      'Setting ALLOWLIST_TABLE must be a table name: 3 to 63 letters and digits, starting with a letter.',
    ],
    [
      { TABLES_ENDPOINT: 'http://stgid.table.core.windows.net/' },
      'Setting TABLES_ENDPOINT must be an https URL.',
    ],
    [
      { TABLES_ENDPOINT: 'https://a/', TABLES_CONNECTION_STRING: 'UseDevelopmentStorage=true' },
      'Setting TABLES_ENDPOINT and TABLES_CONNECTION_STRING are both set',
    ],
    [
      { ALERT_WEBHOOK_SECRET: 'hunter2' },
      'Setting ALERT_WEBHOOK_SECRET must be a Standard Webhooks secret',
    ],
    [
      {
        TEAMS_WEBHOOK_URL:
          '@Microsoft.KeyVault(SecretUri=https://kv-gid.vault.azure.net/secrets/teams-webhook-url)',
      },
      'Setting TEAMS_WEBHOOK_URL is a Key Vault reference that App Service has not resolved',
    ],
    [
      {
        ALERT_WEBHOOK_SECRET:
          '@Microsoft.KeyVault(SecretUri=https://kv-gid.vault.azure.net/secrets/hunter2)',
      },
      'Setting ALERT_WEBHOOK_SECRET is a Key Vault reference that App Service has not resolved',
    ],
    [
      {
        TEAMS_WEBHOOK_URL:
          'https://hooks.example/a?sig=hunter2 https://hooks.example/b https://HOOKS.example/a?sig=hunter2',
      },
      'Setting TEAMS_WEBHOOK_URL lists the same URL twice (URLs 1 and 3 of 3); list each once.',
    ],
    [
      {
        TEAMS_WEBHOOK_URL: 'https://hooks.example/a?sig=hunter2',
        ALERT_WEBHOOK_URL: 'https://soc.example/in https://hooks.example/a?sig=hunter2',
      },
      'Setting ALERT_WEBHOOK_URL repeats a URL of TEAMS_WEBHOOK_URL (URL 2 here, URL 1 there); a URL is either a Teams workflow or a generic webhook.',
    ],
    [
      {
        ALERT_WEBHOOK_URL: Array.from(
          { length: 100 },
          (_, index) => `https://soc.example/hunter2/${index}`,
        ).join(','),
      },
      'Setting ALERT_WEBHOOK_URL lists 100 URLs; at most 99 destinations are supported in all.',
    ],
    [
      {
        TEAMS_WEBHOOK_URL: Array.from(
          { length: 50 },
          (_, index) => `https://teams.example/hunter2/${index}`,
        ).join(' '),
        ALERT_WEBHOOK_URL: Array.from(
          { length: 50 },
          (_, index) => `https://soc.example/hunter2/${index}`,
        ).join(' '),
      },
      'Setting ALERT_WEBHOOK_URL and TEAMS_WEBHOOK_URL list 100 URLs together; at most 99 destinations are supported in all.',
    ],
  ])('refuses %p with a message naming the setting', (env, message) => {
    const attempt = () => loadSettings(env);

    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
    expect(attempt).not.toThrow('example');
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
