import { ConfigurationError, refuseUnresolvedKeyVaultReference } from './configurationError';

export type DestinationKind = 'teams' | 'webhook';

/** Where notifications go. `label` is what logs and errors say: never the URL. */
export interface Destination {
  kind: DestinationKind;
  label: string;
  url: URL;
  /** Standard Webhooks secret (`whsec_...`), generic webhooks only. */
  signingSecret?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Destinations in all: an alert and one delivery row per destination are stored in one
 * Table Storage transaction, which holds at most 100 entities.
 */
export const MAX_DESTINATIONS = 99;

/**
 * Parses a setting holding one or more URLs separated by whitespace or commas. Only https
 * is accepted, except plain http to this machine (local receivers, tests). The message
 * names the setting and the position, never the URL itself: it may carry a signature.
 */
export function parseDestinations(
  setting: string,
  value: string | undefined,
  kind: DestinationKind,
  signingSecret?: string,
): Destination[] {
  if (value === undefined || value.trim() === '') {
    return [];
  }

  refuseUnresolvedKeyVaultReference(setting, value);
  const parts = value.split(/[\s,]+/).filter((part) => part !== '');
  if (parts.length > MAX_DESTINATIONS) {
    throw new ConfigurationError(
      setting,
      `lists ${parts.length} URLs; at most ${MAX_DESTINATIONS} destinations are supported in all`,
    );
  }

  const destinations = parts.map((part, index) => {
    const position = parts.length > 1 ? ` (URL ${index + 1} of ${parts.length})` : '';
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new ConfigurationError(setting, `is not a valid absolute URL${position}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new ConfigurationError(setting, `must not carry a user name or password${position}`);
    }
    const loopback = LOOPBACK_HOSTS.has(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new ConfigurationError(
        setting,
        `must be an https URL (plain http is accepted only for localhost)${position}`,
      );
    }

    const destination: Destination = { kind, label: `${kind}#${index + 1}`, url };
    if (signingSecret !== undefined && kind === 'webhook') {
      destination.signingSecret = signingSecret;
    }

    return destination;
  });
  refuseRepeatedUrls(setting, destinations);

  return destinations;
}

/**
 * The same URL twice would store two delivery rows with the same key in one transaction,
 * which Table Storage refuses for every alert; it would also send each alert there twice.
 */
function refuseRepeatedUrls(setting: string, destinations: Destination[]): void {
  const seen = new Map<string, number>();
  for (const [index, destination] of destinations.entries()) {
    const first = seen.get(destination.url.href);
    if (first !== undefined) {
      throw new ConfigurationError(
        setting,
        `lists the same URL twice (URLs ${first + 1} and ${index + 1} of ${destinations.length}); list each once`,
      );
    }
    seen.set(destination.url.href, index);
  }
}
