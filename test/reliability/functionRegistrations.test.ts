import type { EventHubFunctionOptions, TimerFunctionOptions } from '@azure/functions';

interface Registered {
  eventHub: Record<string, EventHubFunctionOptions>;
  timer: Record<string, TimerFunctionOptions>;
}

/** Loads a registration module with `app` recording what it is given, under `env`. */
function register(modulePath: string, env: Record<string, string>): Registered {
  const registered: Registered = { eventHub: {}, timer: {} };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    jest.isolateModules(() => {
      jest.doMock('@azure/functions', () => ({
        ...jest.requireActual<object>('@azure/functions'),
        app: {
          eventHub: (name: string, options: EventHubFunctionOptions) => {
            registered.eventHub[name] = options;
          },
          timer: (name: string, options: TimerFunctionOptions) => {
            registered.timer[name] = options;
          },
        },
      }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module registers on load, inside isolateModules, which takes no promise.
      require(modulePath);
    });
  } finally {
    process.env = saved;
  }

  return registered;
}

const storage = { TABLES_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
const hub = {
  AUDIT_EVENTHUB_NAME: 'entra-audit-logs',
  AUDIT_EVENTHUB_CONSUMER_GROUP: 'detector',
  AuditEventHub__fullyQualifiedNamespace: 'evhns-gid-prod-4k2j9x7q1m3bz.servicebus.windows.net',
};

describe('function registrations', () => {
  it.each([
    ['no hub name', { AUDIT_EVENTHUB_NAME: '' }, 'Setting AUDIT_EVENTHUB_NAME is not set'],
    [
      'no consumer group',
      { AUDIT_EVENTHUB_CONSUMER_GROUP: ' ' },
      'Setting AUDIT_EVENTHUB_CONSUMER_GROUP is not set',
    ],
    [
      'no connection at all',
      { AuditEventHub__fullyQualifiedNamespace: '' },
      'Setting AuditEventHub__fullyQualifiedNamespace is not set',
    ],
    [
      'a namespace given as a URL',
      { AuditEventHub__fullyQualifiedNamespace: 'sb://evhns-gid-prod.servicebus.windows.net/' },
      'Setting AuditEventHub__fullyQualifiedNamespace must be the namespace host name alone',
    ],
  ])('refuse to load the Event Hub function with %s, naming the setting', (_, change, message) => {
    expect(() =>
      register('../../functions/detectGuestInvitations', { ...storage, ...hub, ...change }),
    ).toThrow(message);
  });

  it('load the Event Hub function with a connection string instead of a namespace, for local runs', () => {
    const { eventHub } = register('../../functions/detectGuestInvitations', {
      ...storage,
      ...hub,
      AuditEventHub__fullyQualifiedNamespace: '',
      AuditEventHub:
        'Endpoint=sb://localhost/;SharedAccessKeyName=x;SharedAccessKey=y;EntityPath=z',
    });

    expect(eventHub.detectGuestInvitations?.eventHubName).toBe('%AUDIT_EVENTHUB_NAME%');
  });

  it('declare a bounded exponential retry policy on the Event Hub trigger', () => {
    const { eventHub } = register('../../functions/detectGuestInvitations', { ...storage, ...hub });

    expect(eventHub.detectGuestInvitations).toMatchObject({
      connection: 'AuditEventHub',
      cardinality: 'many',
      retry: {
        strategy: 'exponentialBackoff',
        maxRetryCount: 8,
        minimumInterval: { seconds: 5 },
        maximumInterval: { minutes: 5 },
      },
    });
  });

  it('schedule redelivery from REDELIVERY_SCHEDULE when it is set, every minute otherwise', () => {
    const set = register('../../functions/redeliverAlerts', {
      ...storage,
      REDELIVERY_SCHEDULE: '0 */5 * * * *',
    });
    const unset = register('../../functions/redeliverAlerts', {
      ...storage,
      REDELIVERY_SCHEDULE: '',
    });

    expect(set.timer.redeliverAlerts).toMatchObject({
      schedule: '%REDELIVERY_SCHEDULE%',
      runOnStartup: false,
    });
    expect(unset.timer.redeliverAlerts!.schedule).toBe('0 */1 * * * *');
  });

  it('refuse to start with a schedule that is not six NCRONTAB fields', () => {
    expect(() =>
      register('../../functions/redeliverAlerts', { ...storage, REDELIVERY_SCHEDULE: 'often' }),
    ).toThrow('Setting REDELIVERY_SCHEDULE must be a six-field NCRONTAB expression');
  });
});
