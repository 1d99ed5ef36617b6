import ruleData from './rules/guestInvitation/rule.json';

export type Severity = 'low' | 'medium' | 'high';

export interface AttackMapping {
  tactic: string;
  technique: string;
  name: string;
}

/** A detection's metadata, kept as data beside its test vectors (lib/rules/). */
export interface DetectionRule {
  id: string;
  title: string;
  status: string;
  severity: Severity;
  elevatedSeverity: Severity;
  description: string;
  sigmaId: string;
  logSource: { product: string; service: string; category: string; activities: string[] };
  attack: AttackMapping[];
  references: string[];
  falsePositives: string[];
  runbook: string[];
}

export const guestInvitationRule = ruleData as DetectionRule;
