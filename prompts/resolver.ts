import { LRUCache } from 'lru-cache';
import { PromptError } from './errors.ts';
import { drawOnce, headVersion, pointedVersion } from './labels.ts';
import { PROMPTS_CHANNEL } from './queries.ts';
import { startRefresher, type Refresher } from '../core/refresher.ts';
import type { PromptStore } from './store.ts';
import type { PromptChange, PromptDraw, PromptHeads, PromptRef, PromptVersion } from './types.ts';

export interface PromptResolverOptions {
  store: PromptStore;
  /** Poll period where LISTEN is unavailable (PGlite). Default 500 ms. */
  pollIntervalMs?: number;
  /** Poll period while LISTENing, a safety net should a re-LISTEN after a reconnect not happen. Default 10 s. */
  safetyPollIntervalMs?: number;
  /** Versions kept in memory (they are immutable, so never stale). Default 1000. */
  maxVersions?: number;
  /** Failures of background refreshes; the request path never sees them. */
  onError?: (err: unknown) => void;
}

const key = (name: string, version: number) => `${name}@${version}`;

/**
 * Serves prompt versions from memory on the request path. Versions are immutable, so
 * `name@3` is cached for good; what moves is where labels (and `latest`) point, kept per
 * prompt as its "heads". A change — this instance's own (store.watch), a NOTIFY on
 * `sluice_prompts` (Postgres), or a poll of store.changeToken() (PGlite; on Postgres also
 * after every re-LISTEN and as a safety net, see refresher.ts) — reloads that prompt's heads
 * and the versions they point at, then swaps them in; until then the old heads keep serving,
 * so requests never wait on the refresh.
 *
 * A label being rolled out (DESIGN §4.6) has a split in its heads, its version loaded with the
 * label's: a call's `draw` picks the side, so the split costs no database read either.
 */
export class PromptResolver {
  readonly #store: PromptStore;
  readonly #opts: Required<Omit<PromptResolverOptions, 'store'>>;
  readonly #versions: LRUCache<string, PromptVersion>;
  readonly #heads = new Map<string, PromptHeads>();
  /**
   * Prompt names known not to exist (cleared when a change mentions them). Bounded: the names
   * come from clients, and a client sending endless made-up names must not grow it.
   */
  readonly #missing = new LRUCache<string, true>({ max: 10_000 });
  /** Bumped per prompt on every change, so a load that started before it is not stored. */
  readonly #generation = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<PromptHeads>>();
  #revisions = new Map<string, number>();
  #token: string | undefined;
  #refresher: Refresher | undefined;
  #unwatch: (() => void) | undefined;
  #running = false;

  constructor(opts: PromptResolverOptions) {
    this.#store = opts.store;
    this.#opts = {
      pollIntervalMs: opts.pollIntervalMs ?? 500,
      safetyPollIntervalMs: opts.safetyPollIntervalMs ?? 10_000,
      maxVersions: opts.maxVersions ?? 1000,
      onError: opts.onError ?? (() => {}),
    };
    this.#versions = new LRUCache({ max: this.#opts.maxVersions });
  }

  /** True when changes arrive by LISTEN/NOTIFY rather than polling. */
  get listening(): boolean {
    return this.#refresher?.listening ?? false;
  }

  /** Subscribes to changes, loads every prompt's heads and their versions, starts polling. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#unwatch = this.#store.watch((change) => this.#changed(change.name, change));
    this.#refresher = await startRefresher({
      source: { listen: (_channel, onNotify, onListen) => this.#store.subscribe(onNotify, onListen) },
      channel: PROMPTS_CHANNEL,
      onNotify: (name) => this.#changed(name),
      refresh: () => this.#poll(),
      pollIntervalMs: this.#opts.pollIntervalMs,
      safetyPollIntervalMs: this.#opts.safetyPollIntervalMs,
      onError: this.#opts.onError,
    });
    this.#token = await this.#store.changeToken();
    this.#revisions = await this.#store.revisions();
    await Promise.all([...this.#revisions.keys()].map((name) => this.#load(name).catch((err: unknown) => this.#opts.onError(err))));
  }

  /** Stops polling and ignores further notifications (the Database interface has no UNLISTEN). */
  stop(): void {
    this.#running = false;
    this.#refresher?.stop();
    this.#refresher = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /**
   * From memory only: the version, or undefined when it is not cached (then call resolve). For
   * a label with a split, `draw` in [0,1) below the split's percent/100 picks the split's
   * version; without a draw, the label's own.
   */
  resolveCached(name: string, ref: PromptRef, draw?: PromptDraw): PromptVersion | undefined {
    let version: number | null | undefined;
    if ('version' in ref) version = ref.version;
    else {
      const heads = this.#heads.get(name);
      version = heads && pointedVersion(heads, ref.label, draw);
    }
    return version == null ? undefined : this.#versions.get(key(name, version));
  }

  /** Memory first, else the database (then cached). Unknown prompt, label or version: PromptError 404. */
  async resolve(name: string, ref: PromptRef, draw?: PromptDraw): Promise<PromptVersion> {
    const once = drawOnce(draw);
    const hit = this.resolveCached(name, ref, once);
    if (hit) return hit;
    if (this.#missing.has(name)) throw new PromptError('not_found', `No prompt named '${name}'.`, 'name');
    let version: number;
    if ('version' in ref) version = ref.version;
    else version = headVersion(name, this.#heads.get(name) ?? (await this.#load(name)), ref.label, once);
    const cached = this.#versions.get(key(name, version));
    if (cached) return cached;
    const loaded = await this.#store.getVersion(name, version);
    this.#versions.set(key(name, version), loaded);
    return loaded;
  }

  /**
   * A change to `name`. A change made in this process comes with what changed and is applied
   * at once (read-your-writes); either way the heads are then reloaded from the database.
   */
  #changed(name: string, local?: PromptChange): void {
    if (!this.#running) return;
    this.#generation.set(name, (this.#generation.get(name) ?? 0) + 1);
    const loading = this.#inflight.delete(name);
    this.#missing.delete(name);
    const heads = this.#heads.get(name);
    if (!heads) {
      // A first load under way may have read what this change replaced, so it will not be kept: load again.
      if (loading) this.#load(name).catch((err: unknown) => notFound(err) || this.#opts.onError(err));
      return;
    }
    if (local?.created) {
      this.#versions.set(key(name, local.created.version), local.created);
      this.#heads.set(name, { ...heads, latest: Math.max(heads.latest ?? 0, local.created.version) });
    }
    if (local?.label) {
      const labels = new Map(heads.labels).set(local.label.label, local.label.version);
      this.#heads.set(name, { ...heads, labels });
    }
    if (local?.split) {
      const splits = new Map(heads.splits);
      if (local.split.split) {
        this.#versions.set(key(name, local.split.version.version), local.split.version);
        splits.set(local.split.label, local.split.split);
      } else splits.delete(local.split.label);
      this.#heads.set(name, { ...heads, splits });
    }
    this.#load(name).catch((err: unknown) => {
      // Serve from the database rather than from heads we could not refresh.
      this.#heads.delete(name);
      this.#opts.onError(err);
    });
  }

  #load(name: string): Promise<PromptHeads> {
    const pending = this.#inflight.get(name);
    if (pending) return pending;
    const generation = this.#generation.get(name) ?? 0;
    const load = (async () => {
      let heads: PromptHeads;
      try {
        heads = await this.#store.heads(name);
      } catch (err) {
        if (err instanceof PromptError && err.code === 'not_found' && this.#generation.get(name) === generation) this.#missing.set(name, true);
        throw err;
      }
      const splitVersions = [...heads.splits.values()].map((s) => s.version);
      const wanted = [heads.latest, ...heads.labels.values(), ...splitVersions].filter((v): v is number => v !== null && !this.#versions.has(key(name, v)));
      for (const v of await this.#store.getVersions(name, [...new Set(wanted)])) this.#versions.set(key(name, v.version), v);
      if ((this.#generation.get(name) ?? 0) === generation) this.#heads.set(name, heads);
      return heads;
    })();
    const settled = load.finally(() => {
      if (this.#inflight.get(name) === settled) this.#inflight.delete(name);
    });
    this.#inflight.set(name, settled);
    return settled;
  }

  /** One look for changes by the cheap aggregate; run one at a time by the refresher. */
  async #poll(): Promise<void> {
    // Until start() has taken its first token, its own initial load is the catch-up.
    if (!this.#running || this.#token === undefined) return;
    const token = await this.#store.changeToken();
    if (token === this.#token) return;
    const revisions = await this.#store.revisions();
    for (const [name, revision] of revisions) if (this.#revisions.get(name) !== revision) this.#changed(name);
    this.#revisions = revisions;
    this.#token = token;
  }
}

const notFound = (err: unknown): boolean => err instanceof PromptError && err.code === 'not_found';

/**
 * Parses `name@label` / `name@3` (the `x-sluice-prompt` header and eval job targets);
 * a bare `name` means `defaultLabel`.
 */
export function parsePromptRef(spec: string, defaultLabel = 'latest'): { name: string; ref: PromptRef } {
  const at = spec.lastIndexOf('@');
  const name = at === -1 ? spec : spec.slice(0, at);
  const tail = at === -1 ? defaultLabel : spec.slice(at + 1);
  if (/^[1-9][0-9]*$/.test(tail)) return { name, ref: { version: Number(tail) } };
  return { name, ref: { label: tail } };
}
