import { ConfigurationError } from '../../lib/configurationError';
import { loadSettings } from '../../lib/settings';

describe('reliability settings', () => {
  it('have documented defaults', () => {
    expect(loadSettings({}).reliability).toEqual({
      redeliverySchedule: '0 */1 * * * *',
      localRedeliveryIntervalMs: 60_000,
      alertMaxAgeMs: 24 * 3_600_000,
      circuitBreakerFailures: 5,
      circuitBreakerCooldownMs: 60_000,
      teamsMaxRequestsPerSecond: 3,
      teamsDigestThreshold: 5,
    });
  });

  it('read every value it is given', () => {
    expect(
      loadSettings({
        REDELIVERY_SCHEDULE: ' 30 */5 * * * * ',
        LOCAL_REDELIVERY_INTERVAL_SECONDS: '15',
        ALERT_MAX_AGE_HOURS: '72',
        CIRCUIT_BREAKER_FAILURES: '2',
        CIRCUIT_BREAKER_COOLDOWN_SECONDS: '300',
        TEAMS_MAX_REQUESTS_PER_SECOND: '4',
        TEAMS_DIGEST_THRESHOLD: '10',
      }).reliability,
    ).toEqual({
      redeliverySchedule: '30 */5 * * * *',
      localRedeliveryIntervalMs: 15_000,
      alertMaxAgeMs: 72 * 3_600_000,
      circuitBreakerFailures: 2,
      circuitBreakerCooldownMs: 300_000,
      teamsMaxRequestsPerSecond: 4,
      teamsDigestThreshold: 10,
    });
  });

  it.each([
    [
      'REDELIVERY_SCHEDULE',
      '*/1 * * * *',
      'Setting REDELIVERY_SCHEDULE must be a six-field NCRONTAB expression such as "0 */1 * * * *" (every minute).',
    ],
    [
      'REDELIVERY_SCHEDULE',
      '00:01:00',
      'Setting REDELIVERY_SCHEDULE must be a six-field NCRONTAB expression such as "0 */1 * * * *" (every minute).',
    ],
    [
      'ALERT_MAX_AGE_HOURS',
      '0',
      'Setting ALERT_MAX_AGE_HOURS must be a whole number from 1 to 168.',
    ],
    [
      'TEAMS_MAX_REQUESTS_PER_SECOND',
      '5',
      'Setting TEAMS_MAX_REQUESTS_PER_SECOND must be a whole number from 1 to 4.',
    ],
    [
      'CIRCUIT_BREAKER_FAILURES',
      'many',
      'Setting CIRCUIT_BREAKER_FAILURES must be a whole number from 1 to 100.',
    ],
  ])('refuse %s=%p', (name, value, message) => {
    const attempt = () => loadSettings({ [name]: value });

    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
  });
});
