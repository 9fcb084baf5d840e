import { and, asc, desc, eq, inArray, max, sql } from 'drizzle-orm';
import { appendAudit } from './audit.ts';
import { contentHash } from './canonical.ts';
import { checkName } from './content.ts';
import { PromptError } from './errors.ts';
import { checkLabel, headVersion } from './labels.ts';
import { findPrompt, lockPrompt, notify, PROMPTS_CHANNEL, requireVersion, subject, toVersion } from './queries.ts';
import { checkPromptContent } from './render.ts';
import { promptLabelSplits, promptLabels, prompts, promptVersions, type PromptLabelSplitRow } from './schema.ts';
import type {
  LabelSplit,
  PromptChange,
  PromptContent,
  PromptDb,
  PromptHeads,
  PromptRef,
  PromptStoreDatabase,
  PromptSummary,
  PromptTx,
  PromptVersion,
} from './types.ts';

export interface CreateVersionResult {
  /** False when the content equals the latest version's, which is returned instead. */
  created: boolean;
  version: PromptVersion;
}

export interface LabelMove {
  prompt: string;
  label: string;
  version: number;
  previous: number | null;
  /** False when the label already pointed at `version` (nothing written). */
  changed: boolean;
}

export interface LabelSplitChange {
  prompt: string;
  label: string;
  /** The split now; null once cleared. */
  split: LabelSplit | null;
  previous: LabelSplit | null;
  /** False when there was nothing to change (nothing written). */
  changed: boolean;
}

/**
 * The prompt registry's persistence. Each change runs in one transaction that locks the
 * prompt row (`FOR UPDATE`), so concurrent writers are serialised per prompt: version numbers
 * are consecutive with no gaps or duplicates, and every change, its audit row, the revision
 * bump and the NOTIFY (delivered only on commit) land together.
 *
 * Label changes (moveLabel, setLabelSplit, clearLabelSplit) also run inside a caller's
 * transaction when given one (the rollout engine's, which holds its own lock): then nothing
 * else is opened, and this process's watchers are not called, since the caller may still roll
 * back; its commit is announced by the NOTIFY and the revision that pollers see.
 */
export class PromptStore {
  readonly #database: PromptStoreDatabase;
  readonly #watchers = new Set<(change: PromptChange) => void>();

  constructor(database: PromptStoreDatabase) {
    this.#database = database;
  }

  /**
   * Calls `onChange` with what changed after each change made through this store commits, so an
   * instance sees its own writes at once, whatever the driver. Returns the unsubscribe.
   */
  watch(onChange: (change: PromptChange) => void): () => void {
    this.#watchers.add(onChange);
    return () => this.#watchers.delete(onChange);
  }

  #changed<T>(change: PromptChange, result: T): T {
    for (const w of this.#watchers) w(change);
    return result;
  }

  get #db(): PromptDb {
    return this.#database.db;
  }

  #write<T>(tx: PromptTx | undefined, work: (tx: PromptTx) => Promise<T>): Promise<T> {
    return tx ? work(tx) : this.#db.transaction(work);
  }

  async createPrompt(name: string, description: string | null, actor: string): Promise<PromptSummary> {
    checkName(name, 'name');
    const out = await this.#db.transaction(async (tx) => {
      const [row] = await tx.insert(prompts).values({ name, description }).onConflictDoNothing({ target: prompts.name }).returning();
      if (!row) throw new PromptError('conflict', `A prompt named '${name}' already exists.`, 'name');
      await appendAudit(tx, { actor, action: 'prompt.created', subject: subject(name), before: null, after: { name, description } });
      await notify(tx, name);
      return { name, description: row.description, createdAt: row.createdAt, latestVersion: null, labels: {}, splits: {} };
    });
    return this.#changed({ name }, out);
  }

  /** Changes a prompt's description (audited); false when it already had that description. */
  async setDescription(name: string, description: string | null, actor: string): Promise<boolean> {
    const changed = await this.#db.transaction(async (tx) => {
      const p = await lockPrompt(tx, name);
      if (p.description === description) return false;
      await tx.update(prompts).set({ description, revision: sql`${prompts.revision} + 1` }).where(eq(prompts.id, p.id));
      const entry = { before: { description: p.description }, after: { description } };
      await appendAudit(tx, { actor, action: 'prompt.described', subject: subject(name), ...entry });
      await notify(tx, name);
      return true;
    });
    return changed ? this.#changed({ name }, true) : false;
  }

  async listPrompts(): Promise<PromptSummary[]> {
    const [rows, latest, labels, splits] = await Promise.all([
      this.#db.select().from(prompts).orderBy(asc(prompts.name)),
      this.#db.select({ promptId: promptVersions.promptId, v: max(promptVersions.version) }).from(promptVersions).groupBy(promptVersions.promptId),
      this.#db.select().from(promptLabels).orderBy(asc(promptLabels.label)),
      this.#db.select().from(promptLabelSplits).orderBy(asc(promptLabelSplits.label)),
    ]);
    const latestBy = new Map(latest.map((r) => [r.promptId, r.v]));
    return rows.map((p) => ({
      name: p.name,
      description: p.description,
      createdAt: p.createdAt,
      latestVersion: latestBy.get(p.id) ?? null,
      labels: Object.fromEntries(labels.filter((l) => l.promptId === p.id).map((l) => [l.label, l.version])),
      splits: Object.fromEntries(splits.filter((l) => l.promptId === p.id).map((l) => [l.label, splitOf(l)])),
    }));
  }

  async getPrompt(name: string): Promise<PromptSummary> {
    const p = await findPrompt(this.#db, name);
    const heads = await this.#heads(p.id);
    return {
      name,
      description: p.description,
      createdAt: p.createdAt,
      latestVersion: heads.latest,
      labels: Object.fromEntries(heads.labels),
      splits: Object.fromEntries(heads.splits),
    };
  }

  /** Posting content identical to the latest version returns the latest (`created: false`). */
  async createVersion(name: string, content: PromptContent, actor: string, message: string | null = null): Promise<CreateVersionResult> {
    checkPromptContent(content);
    const hash = contentHash(content);
    const out = await this.#db.transaction(async (tx): Promise<CreateVersionResult> => {
      const p = await lockPrompt(tx, name);
      const [latest] = await tx.select().from(promptVersions).where(eq(promptVersions.promptId, p.id)).orderBy(desc(promptVersions.version)).limit(1);
      if (latest && latest.hash === hash) return { created: false, version: toVersion(name, latest) };
      const version = (latest?.version ?? 0) + 1;
      const [row] = await tx
        .insert(promptVersions)
        .values({ promptId: p.id, version, hash, ...content, author: actor, message })
        .returning();
      await tx.update(prompts).set({ revision: sql`${prompts.revision} + 1` }).where(eq(prompts.id, p.id));
      const before = latest ? { version: latest.version, hash: latest.hash } : null;
      const after = { version, hash, model: content.model, message };
      await appendAudit(tx, { actor, action: 'prompt.version_created', subject: subject(name), before, after });
      await notify(tx, name);
      return { created: true, version: toVersion(name, row!) };
    });
    return out.created ? this.#changed({ name, created: out.version }, out) : out;
  }

  async listVersions(name: string): Promise<PromptVersion[]> {
    const p = await findPrompt(this.#db, name);
    const rows = await this.#db.select().from(promptVersions).where(eq(promptVersions.promptId, p.id)).orderBy(asc(promptVersions.version));
    return rows.map((r) => toVersion(name, r));
  }

  async getVersion(name: string, version: number): Promise<PromptVersion> {
    const p = await findPrompt(this.#db, name);
    const [row] = await this.#db
      .select()
      .from(promptVersions)
      .where(and(eq(promptVersions.promptId, p.id), eq(promptVersions.version, version)));
    if (!row) throw new PromptError('not_found', `Prompt '${name}' has no version ${version}.`, 'version');
    return toVersion(name, row);
  }

  /** Several versions of one prompt at once (missing numbers are left out). */
  async getVersions(name: string, versions: readonly number[]): Promise<PromptVersion[]> {
    if (versions.length === 0) return [];
    const p = await findPrompt(this.#db, name);
    const rows = await this.#db
      .select()
      .from(promptVersions)
      .where(and(eq(promptVersions.promptId, p.id), inArray(promptVersions.version, [...versions])));
    return rows.map((r) => toVersion(name, r));
  }

  /** Where `latest` and every stored label of a prompt point now, and the labels' splits. */
  async heads(name: string): Promise<PromptHeads> {
    return this.#heads((await findPrompt(this.#db, name)).id);
  }

  async #heads(promptId: string): Promise<PromptHeads> {
    const [[latest], labels, splits] = await Promise.all([
      this.#db.select({ v: max(promptVersions.version) }).from(promptVersions).where(eq(promptVersions.promptId, promptId)),
      this.#db.select().from(promptLabels).where(eq(promptLabels.promptId, promptId)).orderBy(asc(promptLabels.label)),
      this.#db.select().from(promptLabelSplits).where(eq(promptLabelSplits.promptId, promptId)).orderBy(asc(promptLabelSplits.label)),
    ]);
    return {
      latest: latest?.v ?? null,
      labels: new Map(labels.map((l) => [l.label, l.version])),
      splits: new Map(splits.map((l) => [l.label, splitOf(l)])),
    };
  }

  async resolve(name: string, ref: PromptRef): Promise<PromptVersion> {
    if ('version' in ref) return this.getVersion(name, ref.version);
    const heads = await this.heads(name);
    return this.getVersion(name, headVersion(name, heads, ref.label));
  }

  /**
   * Points `label` at `version`. `latest` is computed and cannot be moved (400). A split on the
   * label stays (promoting a rollout clears it in the same transaction, `tx`).
   */
  async moveLabel(name: string, label: string, version: number, actor: string, tx?: PromptTx): Promise<LabelMove> {
    checkLabel(label);
    const out = await this.#write(tx, async (tx): Promise<LabelMove> => {
      const p = await lockPrompt(tx, name);
      await requireVersion(tx, name, p.id, version);
      const [old] = await tx.select().from(promptLabels).where(and(eq(promptLabels.promptId, p.id), eq(promptLabels.label, label)));
      const previous = old?.version ?? null;
      if (previous === version) return { prompt: name, label, version, previous, changed: false };
      await tx
        .insert(promptLabels)
        .values({ promptId: p.id, label, version, updatedBy: actor })
        .onConflictDoUpdate({
          target: [promptLabels.promptId, promptLabels.label],
          set: { version, updatedBy: actor, updatedAt: sql`now()` },
        });
      const before = old ? { label, version: old.version } : null;
      await this.#announce(tx, p.id, name, actor, 'prompt.label_moved', before, { label, version });
      return { prompt: name, label, version, previous, changed: true };
    });
    return out.changed && !tx ? this.#changed({ name, label: { label, version } }, out) : out;
  }

  /**
   * Splits the calls that reference `name@label` (DESIGN §4.6): `percent` of subjects go to
   * `version`, the rest to where the label points. The label must exist (400 for `latest`,
   * 404 for a label never set); `percent` is a finite number from 0 to 100.
   */
  async setLabelSplit(name: string, label: string, version: number, percent: number, actor: string, tx?: PromptTx): Promise<LabelSplitChange> {
    checkLabel(label);
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new PromptError('invalid_request', `A split's percent must be a finite number from 0 to 100, got ${String(percent)}.`, 'percent');
    }
    const out = await this.#write(tx, async (tx) => {
      const p = await lockPrompt(tx, name);
      const [pointed] = await tx.select().from(promptLabels).where(and(eq(promptLabels.promptId, p.id), eq(promptLabels.label, label)));
      if (!pointed) throw new PromptError('not_found', `Prompt '${name}' has no label '${label}' to split.`, 'label');
      const target = await requireVersion(tx, name, p.id, version);
      const previous = await this.#split(tx, p.id, label);
      const split = { version, percent };
      if (previous && previous.version === version && previous.percent === percent) return { prompt: name, label, split, previous, changed: false, target };
      await tx
        .insert(promptLabelSplits)
        .values({ promptId: p.id, label, version, percent, updatedBy: actor })
        .onConflictDoUpdate({
          target: [promptLabelSplits.promptId, promptLabelSplits.label],
          set: { version, percent, updatedBy: actor, updatedAt: sql`now()` },
        });
      await this.#announce(tx, p.id, name, actor, 'prompt.label_split', previous && { label, ...previous }, { label, ...split });
      return { prompt: name, label, split, previous, changed: true, target };
    });
    const { target, ...change } = out;
    return change.changed && !tx ? this.#changed({ name, split: { label, split: change.split, version: target } }, change) : change;
  }

  /** Ends a label's split: every call referencing `name@label` goes where the label points. */
  async clearLabelSplit(name: string, label: string, actor: string, tx?: PromptTx): Promise<LabelSplitChange> {
    checkLabel(label);
    const out = await this.#write(tx, async (tx): Promise<LabelSplitChange> => {
      const p = await lockPrompt(tx, name);
      const previous = await this.#split(tx, p.id, label);
      if (!previous) return { prompt: name, label, split: null, previous, changed: false };
      await tx.delete(promptLabelSplits).where(and(eq(promptLabelSplits.promptId, p.id), eq(promptLabelSplits.label, label)));
      await this.#announce(tx, p.id, name, actor, 'prompt.label_split_cleared', { label, ...previous }, null);
      return { prompt: name, label, split: null, previous, changed: true };
    });
    return out.changed && !tx ? this.#changed({ name, split: { label, split: null } }, out) : out;
  }

  async #split(tx: PromptTx, promptId: string, label: string): Promise<LabelSplit | null> {
    const [row] = await tx
      .select()
      .from(promptLabelSplits)
      .where(and(eq(promptLabelSplits.promptId, promptId), eq(promptLabelSplits.label, label)));
    return row ? splitOf(row) : null;
  }

  /** What every change ends with: the revision bump (for pollers), the audit row and the NOTIFY. */
  async #announce(tx: PromptTx, promptId: string, name: string, actor: string, action: string, before: unknown, after: unknown): Promise<void> {
    await tx.update(prompts).set({ revision: sql`${prompts.revision} + 1` }).where(eq(prompts.id, promptId));
    await appendAudit(tx, { actor, action, subject: subject(name), before, after });
    await notify(tx, name);
  }

  /** Changes whenever anything in the registry changes (one cheap aggregate, for pollers). */
  async changeToken(): Promise<string> {
    const [row] = await this.#db
      .select({ n: sql<number>`count(*)::int`, r: sql<string>`coalesce(sum(${prompts.revision}), 0)::text` })
      .from(prompts);
    return `${row?.n ?? 0}:${row?.r ?? 0}`;
  }

  /** Every prompt's revision, to tell which prompts changed after changeToken() moved. */
  async revisions(): Promise<Map<string, number>> {
    const rows = await this.#db.select({ name: prompts.name, revision: prompts.revision }).from(prompts);
    return new Map(rows.map((r) => [r.name, r.revision]));
  }

  /** LISTENs for changes (payload: prompt name); false when the driver cannot, so poll. `onListen`: every (re)connect. */
  subscribe(onChange: (name: string) => void, onListen?: () => void): Promise<boolean> {
    return this.#database.listen(PROMPTS_CHANNEL, onChange, onListen);
  }
}

const splitOf = (row: PromptLabelSplitRow): LabelSplit => ({ version: row.version, percent: row.percent });

export { PROMPTS_CHANNEL };
