import type { Alert } from './alert';
import { plainCardText } from './cardText';
import { guestInvitationRule } from './detectionRule';
import type { AdaptiveCard, Notification } from './notification';

/** Teams rejects messages over 28 KB; the card is kept below this many bytes of JSON. */
export const TEAMS_CARD_BUDGET_BYTES = 26 * 1024;

const REASON_HEADLINE: Record<Alert['reason'], string> = {
  'not-approved': 'Inviter not approved',
  'approval-expired': 'Approval expired',
  'domain-not-allowed': 'Domain not allowed for this inviter',
  'allowlist-unavailable': 'Allowlist unavailable',
};

function inviterName(alert: Alert): string | null {
  const inviter = alert.inviter;

  return (
    inviter.userPrincipalName ??
    inviter.displayName ??
    inviter.appId ??
    inviter.servicePrincipalId ??
    inviter.id
  );
}

/**
 * The Teams card for an alert: who invited whom, when, why it alerted, the result, links,
 * and what to do next. Long values are cut until the card fits Teams' size limit.
 */
export function renderAlertCard(alert: Alert): AdaptiveCard {
  for (const maxLength of [256, 96, 40]) {
    const card = buildCard(alert, maxLength, maxLength === 256);
    if (Buffer.byteLength(JSON.stringify(card)) <= TEAMS_CARD_BUDGET_BYTES) {
      return card;
    }
  }

  return buildCard(alert, 24, false);
}

export function alertNotification(alert: Alert): Notification {
  return { id: alert.alertId, json: alert, card: renderAlertCard(alert) };
}

function buildCard(alert: Alert, maxLength: number, withRunbook: boolean): AdaptiveCard {
  const text = (value: string | null): string => plainCardText(value, maxLength);
  const high = alert.severity === 'high';
  const inviterKind =
    alert.inviter.type === 'unknown'
      ? 'unknown (the record names no user or app)'
      : `${alert.inviter.type}${alert.inviter.isGuest ? ' (itself a guest)' : ''}`;
  const invitee = alert.invitee.email ?? alert.invitee.userPrincipalName;

  const facts = [
    { title: 'Inviter', value: text(inviterName(alert)) },
    { title: 'Inviter type', value: text(inviterKind) },
    { title: 'Inviter IP', value: text(alert.inviter.ipAddress) },
    { title: 'Invitee', value: text(invitee) },
    { title: 'Invitee UPN', value: text(alert.invitee.userPrincipalName) },
    { title: 'When (UTC)', value: text(alert.time) },
    { title: 'Activity', value: text(alert.operation) },
    { title: 'Result', value: text(alert.result) },
    { title: 'Reason', value: text(alert.reasonText) },
    { title: 'Severity', value: text(alert.severity) },
    { title: 'Tenant', value: text(alert.tenantId) },
    { title: 'Audit record', value: text(alert.auditId) },
    { title: 'Correlation id', value: text(alert.correlationId) },
    { title: 'Rule', value: text(alert.ruleId) },
  ];

  const body: unknown[] = [
    {
      type: 'Container',
      style: high ? 'attention' : 'warning',
      bleed: true,
      items: [
        {
          type: 'TextBlock',
          text: `${high ? 'HIGH' : 'MEDIUM'}: guest invited, ${REASON_HEADLINE[alert.reason].toLowerCase()}`,
          weight: 'Bolder',
          size: 'Large',
          wrap: true,
        },
        {
          type: 'TextBlock',
          text: `${text(inviterName(alert) ?? 'An unidentified inviter')} invited ${text(invitee ?? 'an unknown guest')}.`,
          wrap: true,
        },
      ],
    },
    { type: 'FactSet', facts },
  ];

  if (withRunbook) {
    body.push(
      {
        type: 'TextBlock',
        text: 'What to do next',
        weight: 'Bolder',
        spacing: 'Medium',
        wrap: true,
      },
      ...guestInvitationRule.runbook.map((step, index) => ({
        type: 'TextBlock',
        text: `${index + 1}\\. ${plainCardText(step, 400)}`,
        wrap: true,
        spacing: 'Small',
      })),
    );
  }

  const actions: unknown[] = [];
  if (alert.links.inviter !== null) {
    actions.push({ type: 'Action.OpenUrl', title: 'Inviter in Entra', url: alert.links.inviter });
  }
  if (alert.links.invitee !== null) {
    actions.push({ type: 'Action.OpenUrl', title: 'Invitee in Entra', url: alert.links.invitee });
  }

  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: 'Full' },
  };
}
