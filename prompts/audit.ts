import { auditLog } from './schema.ts';
import type { PromptDb } from './types.ts';

export interface AuditEntry {
  /** Who: an API key's id or name, a CLI user, `autopilot`, … */
  actor: string;
  /** What happened, dotted: `prompt.version_created`, `prompt.label_moved`, `route.promoted`. */
  action: string;
  /** What it happened to: `prompt:support`, `route:support-bot`. */
  subject: string;
  before: unknown;
  after: unknown;
}

/**
 * Appends one row to the append-only audit log. Pass the transaction that makes the change,
 * so the change and its record commit (or roll back) together.
 */
export async function appendAudit(tx: PromptDb, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}
