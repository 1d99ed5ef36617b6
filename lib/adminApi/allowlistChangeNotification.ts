import type { AllowlistEntry } from '../allowlistEntry';
import { TEAMS_CARD_BUDGET_BYTES } from '../alertCard';
import { plainCardText } from '../cardText';
import type { AdaptiveCard, Notification } from '../notification';
import type { AllowlistAction, AllowlistChange } from './allowlistChange';

/** What a generic webhook receives for an allowlist change. */
export interface AllowlistChangeNotice {
  type: 'allowlist-change';
  action: AllowlistAction;
  inviter: string;
  before: AllowlistEntry | null;
  after: AllowlistEntry | null;
  changedBy: string;
  changedAt: string;
  clientIp: string | null;
}

const PAST_TENSE: Record<AllowlistAction, string> = {
  create: 'created',
  update: 'changed',
  delete: 'deleted',
};

/**
 * The notice for one allowlist change: JSON for webhooks, an Adaptive Card for Teams. Every
 * value on the card is escaped: notes and names are typed by people and may carry Markdown.
 */
export function allowlistChangeNotification(change: AllowlistChange): Notification {
  const json: AllowlistChangeNotice = {
    type: 'allowlist-change',
    action: change.action,
    inviter: change.inviter,
    before: change.before,
    after: change.after,
    changedBy: change.changedBy,
    changedAt: change.changedAt,
    clientIp: change.clientIp,
  };

  return { id: `allowlist-change-${change.id}`, json, card: renderChangeCard(change) };
}

/** Long notes and domain lists are cut until the card fits Teams' size limit. */
export function renderChangeCard(change: AllowlistChange): AdaptiveCard {
  for (const maxLength of [1000, 256, 64]) {
    const card = buildCard(change, maxLength);
    if (Buffer.byteLength(JSON.stringify(card)) <= TEAMS_CARD_BUDGET_BYTES) {
      return card;
    }
  }

  return buildCard(change, 24);
}

function buildCard(change: AllowlistChange, maxLength: number): AdaptiveCard {
  const text = (value: string | null | undefined): string => plainCardText(value, maxLength);
  const shown = change.after ?? change.before;
  const facts = [
    { title: 'Inviter', value: text(change.inviter) },
    { title: 'Action', value: PAST_TENSE[change.action] },
    { title: 'Changed by', value: text(change.changedBy) },
    { title: 'When (UTC)', value: text(change.changedAt) },
    { title: 'From IP', value: text(change.clientIp) },
    termFact('Expires', change, (entry) => entry.expiresAt ?? 'never', text),
    termFact(
      'Allowed domains',
      change,
      (entry) => entry.allowedDomains?.join(', ') ?? 'any domain',
      text,
    ),
    termFact('Note', change, (entry) => entry.note ?? '', text),
  ];
  const headline =
    change.action === 'delete'
      ? `Allowlist entry deleted: ${text(change.inviter)}`
      : `Allowlist entry ${PAST_TENSE[change.action]}: ${text(change.inviter)}`;
  const consequence =
    change.action === 'delete'
      ? 'Invitations by this inviter alert again.'
      : shown?.allowedDomains === undefined
        ? 'Invitations by this inviter to any domain no longer alert.'
        : 'Invitations by this inviter to the allowed domains no longer alert.';

  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      {
        type: 'Container',
        style: 'accent',
        bleed: true,
        items: [
          { type: 'TextBlock', text: headline, weight: 'Bolder', size: 'Large', wrap: true },
          {
            type: 'TextBlock',
            text: `${text(change.changedBy)} ${PAST_TENSE[change.action]} the allowlist entry for ${text(change.inviter)}. ${consequence}`,
            wrap: true,
          },
        ],
      },
      { type: 'FactSet', facts },
      {
        type: 'TextBlock',
        text: "If nobody expected this change, check who made it and the entry's history (GET /api/inviters/{inviter}/history), and revert it.",
        wrap: true,
        isSubtle: true,
        spacing: 'Medium',
      },
    ],
    msteams: { width: 'Full' },
  };
}

/** One term: its value, and for an update what it was when it changed. */
function termFact(
  title: string,
  change: AllowlistChange,
  read: (entry: AllowlistEntry) => string,
  text: (value: string) => string,
): { title: string; value: string } {
  const before = change.before === null ? undefined : read(change.before);
  const after = change.after === null ? undefined : read(change.after);
  if (change.action === 'update' && before !== undefined && before !== after) {
    return { title, value: `${text(after ?? '')} (was ${text(before)})` };
  }

  return { title, value: text(after ?? before ?? '') };
}
