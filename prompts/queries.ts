import { and, eq, sql } from 'drizzle-orm';
import { PromptError } from './errors.ts';
import { prompts, promptVersions, type PromptRow, type PromptVersionRow } from './schema.ts';
import type { PromptDb, PromptVersion } from './types.ts';

/** NOTIFY channel for registry changes; the payload is the prompt's name. */
export const PROMPTS_CHANNEL = 'sluice_prompts';

export const subject = (name: string): string => `prompt:${name}`;

export async function findPrompt(db: PromptDb, name: string): Promise<PromptRow> {
  const [p] = await db.select().from(prompts).where(eq(prompts.name, name));
  if (!p) throw new PromptError('not_found', `No prompt named '${name}'.`, 'name');
  return p;
}

/** The prompt row, locked FOR UPDATE until the transaction ends: writers to one prompt queue here. */
export async function lockPrompt(tx: PromptDb, name: string): Promise<PromptRow> {
  const [p] = await tx.select().from(prompts).where(eq(prompts.name, name)).for('update');
  if (!p) throw new PromptError('not_found', `No prompt named '${name}'.`, 'name');
  return p;
}

const INT4_MAX = 2 ** 31 - 1;

/** One version of the prompt; 404 naming `version` when it has no such version. */
export async function requireVersion(tx: PromptDb, name: string, promptId: string, version: number): Promise<PromptVersion> {
  const valid = Number.isInteger(version) && version > 0 && version <= INT4_MAX;
  const [row] = valid
    ? await tx
        .select()
        .from(promptVersions)
        .where(and(eq(promptVersions.promptId, promptId), eq(promptVersions.version, version)))
    : [];
  if (!row) throw new PromptError('not_found', `Prompt '${name}' has no version ${version}.`, 'version');
  return toVersion(name, row);
}

/** pg_notify inside the transaction: listeners hear about the change only once it commits. */
export async function notify(tx: PromptDb, name: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${PROMPTS_CHANNEL}, ${name})`);
}

export function toVersion(name: string, row: PromptVersionRow): PromptVersion {
  return {
    prompt: name,
    version: row.version,
    hash: row.hash,
    messages: row.messages,
    model: row.model,
    params: row.params,
    variables: row.variables,
    author: row.author,
    message: row.message,
    createdAt: row.createdAt,
  };
}
