import { createHash } from 'node:crypto';

import type { Alert } from './alert';
import { TEAMS_CARD_BUDGET_BYTES } from './alertCard';
import { plainCardText } from './cardText';
import type { AdaptiveCard, Notification } from './notification';

/** One Teams message standing for several alerts. */
export interface AlertDigest {
  notification: Notification;
  alertIds: string[];
}

/** Names and ids are cut shorter than on a single card so that many alerts fit one message. */
const FIELD_LENGTH = 96;

/**
 * Alerts as digest cards for Teams: when a burst of alerts is waiting for one webhook, a few
 * messages listing them keep under its rate limit where one message per alert would be
 * throttled. Each card stays under the same byte budget as a single alert card (Teams takes
 * at most 28 KB); alerts that do not fit go to the next card, in order, none left out.
 */
export function renderAlertDigests(alerts: Alert[]): AlertDigest[] {
  const digests: AlertDigest[] = [];
  let group: Alert[] = [];
  let items: unknown[] = [];

  for (const alert of alerts) {
    const item = digestItem(alert);
    if (
      group.length > 0 &&
      cardBytes(group.length + 1, [...items, item]) > TEAMS_CARD_BUDGET_BYTES
    ) {
      digests.push(digestOf(group, items));
      group = [];
      items = [];
    }
    group.push(alert);
    items.push(item);
  }
  if (group.length > 0) {
    digests.push(digestOf(group, items));
  }

  return digests;
}

function digestOf(alerts: Alert[], items: unknown[]): AlertDigest {
  const alertIds = alerts.map((alert) => alert.alertId);
  const id = createHash('sha256').update(alertIds.join('\n')).digest('hex').slice(0, 32);

  return {
    alertIds,
    notification: {
      id: `digest-${id}`,
      json: { type: 'alert-digest', alertIds },
      card: digestCard(alerts.length, items),
    },
  };
}

function cardBytes(count: number, items: unknown[]): number {
  return Buffer.byteLength(JSON.stringify(digestCard(count, items)));
}

function digestCard(count: number, items: unknown[]): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      {
        type: 'Container',
        style: 'attention',
        bleed: true,
        items: [
          {
            type: 'TextBlock',
            text: `${count} guest invitations by inviters who are not approved`,
            weight: 'Bolder',
            size: 'Large',
            wrap: true,
          },
          {
            type: 'TextBlock',
            text:
              'Sent as one message because many arrived at once. Review each invitation as ' +
              'you would a single alert; the audit record id finds it in the Entra audit log.',
            wrap: true,
          },
        ],
      },
      ...items,
    ],
    msteams: { width: 'Full' },
  };
}

function digestItem(alert: Alert): unknown {
  const text = (value: string | null): string => plainCardText(value, FIELD_LENGTH);
  const inviter =
    alert.inviter.userPrincipalName ??
    alert.inviter.displayName ??
    alert.inviter.appId ??
    alert.inviter.servicePrincipalId ??
    alert.inviter.id;
  const invitee = alert.invitee.email ?? alert.invitee.userPrincipalName;

  return {
    type: 'Container',
    separator: true,
    items: [
      {
        type: 'TextBlock',
        text: `${alert.severity === 'high' ? 'HIGH' : 'MEDIUM'}: ${text(inviter ?? 'an unidentified inviter')} invited ${text(invitee ?? 'an unknown guest')}`,
        weight: 'Bolder',
        wrap: true,
      },
      {
        type: 'FactSet',
        facts: [
          { title: 'When (UTC)', value: text(alert.time) },
          { title: 'Reason', value: text(alert.reasonText) },
          { title: 'Result', value: text(alert.result) },
          { title: 'Audit record', value: text(alert.auditId) },
        ],
      },
    ],
  };
}
