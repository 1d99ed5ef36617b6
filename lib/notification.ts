/**
 * What the detector sends: one message, rendered for each kind of destination. Alerts and
 * allowlist-change notices are both notifications, so both travel the same delivery path.
 */
export interface Notification {
  /** Stable id: the same event always gets the same id (Standard Webhooks `webhook-id`). */
  id: string;
  /** The body a generic webhook receives, as JSON. */
  json: unknown;
  /** The Adaptive Card (version 1.5) that Teams shows. */
  card: AdaptiveCard;
}

/** An Adaptive Card as JSON; its schema is checked in tests with Microsoft's SDK. */
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  version: '1.5';
  $schema?: string;
  body: unknown[];
  actions?: unknown[];
  msteams?: unknown;
}
