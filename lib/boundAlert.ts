import type { Alert } from './alert';
import { cutText } from './storableText';

/** Real Entra values are far shorter (UPNs up to 113 characters, names up to 256). */
const FIELD_LIMITS = [1024, 128];
/** Table Storage takes at most 32 K UTF-16 units in a string property. */
export const MAX_ALERT_JSON_LENGTH = 30_000;

/**
 * The alert with every string cut to a length no genuine audit value reaches, so that a
 * record with megabyte-long names still fits one outbox entity, one log line and one card.
 * What is cut ends in `…`.
 */
export function boundAlert(alert: Alert): Alert {
  let bounded = alert;
  for (const limit of FIELD_LIMITS) {
    // Links are built from GUIDs only and the rule's mapping is ours: both stay whole.
    bounded = { ...cutStrings(alert, limit), links: alert.links, attack: alert.attack };
    if (JSON.stringify(bounded).length <= MAX_ALERT_JSON_LENGTH) {
      return bounded;
    }
  }

  return bounded;
}

function cutStrings<T>(value: T, limit: number): T {
  if (typeof value === 'string') {
    return cutText(value, limit) as T;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown) => cutStrings(item, limit)) as T;
  }
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = cutStrings(item, limit);
    }

    return copy as T;
  }

  return value;
}
