import { eq, sql } from 'drizzle-orm';
import { serialized, startRefresher, type Refresher } from '../../core/refresher.ts';
import { appendAudit } from '../../prompts/index.ts';
import type { RouteConfig } from '../config/routes-schema.ts';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { toStored, type StoredLayout } from './layout.ts';
import { routeLayouts, routeWeights } from './schema.ts';
import { computeAllocation, reweigh, type Allocation, type WeightsSource } from './weights.ts';

/** NOTIFY channel for route weight changes; the payload is the route's name. */
export const ROUTES_CHANNEL = 'sluice_routes';

export interface RouteWeightsStoreOptions {
  database: Database;
  /** `config.routes`. */
  routes: Readonly<Record<string, RouteConfig>>;
  /** Poll period where LISTEN is unavailable (PGlite). Default 500 ms. */
  pollIntervalMs?: number;
  /** Poll period while LISTENing, a safety net should a re-LISTEN after a reconnect not happen. Default 10 s. */
  safetyPollIntervalMs?: number;
  /** Failures of background refreshes; the request path never sees them. */
  onError?: (err: unknown) => void;
}

export interface WeightsChange {
  route: string;
  /** False when there was nothing to change (DELETE without an override). */
  changed: boolean;
  before: WeightsView;
  after: WeightsView;
}

export interface WeightsView {
  source: Allocation['source'];
  weights: Record<string, number>;
}

export interface RouteWeightsMeta {
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** A drizzle transaction on either driver; the store's writes can join a caller's (a rollout's). */
export type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/**
 * Runtime route weights (canary), served from memory to the Router. A change is written with
 * its layout and audit row in one transaction and announced on `sluice_routes` (delivered on
 * commit); other instances reload on the NOTIFY (Postgres) or on a ~500 ms poll of one
 * aggregate (PGlite), so every instance serves the change within a second. On Postgres the
 * same poll runs after every re-LISTEN (a NOTIFY sent while disconnected is lost) and every
 * 10 s as a safety net (prompts/refresher.ts). The instance that made the change reloads
 * before answering (read-your-writes).
 */
export class RouteWeightsStore implements WeightsSource {
  readonly #database: Database;
  readonly #routes: ReadonlyMap<string, { names: string[]; configWeights: number[] }>;
  readonly #opts: Required<Omit<RouteWeightsStoreOptions, 'database' | 'routes'>>;
  #allocations = new Map<string, Allocation>();
  #meta = new Map<string, RouteWeightsMeta>();
  #token = '';
  readonly #reload = serialized(() => this.#load());
  #refresher: Refresher | undefined;
  #running = false;

  constructor(opts: RouteWeightsStoreOptions) {
    this.#database = opts.database;
    this.#routes = new Map(
      Object.entries(opts.routes).map(([name, r]) => [name, { names: r.variants.map((v) => v.name), configWeights: r.variants.map((v) => v.weight) }]),
    );
    this.#opts = {
      pollIntervalMs: opts.pollIntervalMs ?? 500,
      safetyPollIntervalMs: opts.safetyPollIntervalMs ?? 10_000,
      onError: opts.onError ?? (() => {}),
    };
  }

  /** True when changes arrive by LISTEN/NOTIFY rather than polling. */
  get listening(): boolean {
    return this.#refresher?.listening ?? false;
  }

  /** Subscribes to changes, loads the current weights (after the LISTEN is up, so nothing is missed) and starts polling. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#refresher = await startRefresher({
      source: this.#database,
      channel: ROUTES_CHANNEL,
      onNotify: () => void this.reload().catch((err: unknown) => this.#opts.onError(err)),
      refresh: () => this.#poll(),
      pollIntervalMs: this.#opts.pollIntervalMs,
      safetyPollIntervalMs: this.#opts.safetyPollIntervalMs,
      onError: this.#opts.onError,
    });
    await this.reload();
  }

  /** Stops polling and ignores further notifications (the Database interface has no UNLISTEN). */
  stop(): void {
    this.#running = false;
    this.#refresher?.stop();
    this.#refresher = undefined;
  }

  allocation(route: string): Allocation | undefined {
    return this.#allocations.get(route);
  }

  meta(route: string): RouteWeightsMeta {
    return this.#meta.get(route) ?? { updatedAt: null, updatedBy: null };
  }

  /** Re-reads every route's weights and layout. Runs one at a time; calls made meanwhile share the next run. */
  reload(): Promise<void> {
    return this.#reload();
  }

  /**
   * Sets runtime weights for some or all variants (the others keep their current weight).
   * 404 for an unknown route; 400 naming an unknown variant, a negative or non-finite weight,
   * or a result where every weight is 0.
   */
  async setWeights(route: string, weights: Readonly<Record<string, number>>, actor: string, tx?: Tx): Promise<WeightsChange> {
    const r = this.#route(route);
    const unknown = Object.keys(weights).filter((n) => !r.names.includes(n));
    if (unknown.length > 0) {
      throw new GatewayError(
        'invalid_request',
        `Route '${route}' has no variant ${unknown.map((n) => `'${n.slice(0, 100)}'`).join(', ')}; its variants are ${r.names.map((n) => `'${n}'`).join(', ')}.`,
        { param: `weights.${unknown[0]!.slice(0, 100)}` },
      );
    }
    for (const [n, w] of Object.entries(weights)) {
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
        throw new GatewayError('invalid_request', `The weight of variant '${n}' must be a finite number >= 0.`, { param: `weights.${n}` });
      }
    }
    const apply = async (tx: Tx): Promise<WeightsChange> => {
      const current = (await this.#current(tx, route, actor, true))!;
      const next = current.weights.map((w, i) => (Object.hasOwn(weights, r.names[i]!) ? weights[r.names[i]!]! : w));
      if (!next.some((w) => w > 0)) {
        throw new GatewayError('invalid_request', `At least one variant of route '${route}' needs a weight above 0.`, { param: 'weights' });
      }
      const after = reweigh(current, next, 'override');
      await tx.delete(routeWeights).where(eq(routeWeights.route, route));
      await tx.insert(routeWeights).values(r.names.map((variant, i) => ({ route, variant, weight: next[i]!, updatedBy: actor })));
      return this.#commit(tx, route, actor, 'route.weights', current, after);
    };
    // In the caller's transaction: its commit announces the change (NOTIFY, or the next poll).
    if (tx) return apply(tx);
    const change = await this.#database.db.transaction(apply);
    // Committed either way; a failed re-read is caught up by the next poll or NOTIFY.
    await this.reload().catch((err: unknown) => this.#opts.onError(err));
    return change;
  }

  /** Back to the config's weights (audited), laid out with minimal movement from the current layout. */
  async resetWeights(route: string, actor: string, tx?: Tx): Promise<WeightsChange> {
    const r = this.#route(route);
    const apply = async (tx: Tx): Promise<WeightsChange> => {
      const current = await this.#current(tx, route, actor, false);
      if (!current || current.source === 'config') {
        const view = viewOf(current ?? computeAllocation(r), r.names);
        return { route, changed: false, before: view, after: view };
      }
      const after = reweigh(current, r.configWeights, 'config');
      await tx.delete(routeWeights).where(eq(routeWeights.route, route));
      return this.#commit(tx, route, actor, 'route.weights_reset', current, after);
    };
    if (tx) return apply(tx);
    const change = await this.#database.db.transaction(apply);
    if (change.changed) await this.reload().catch((err: unknown) => this.#opts.onError(err));
    return change;
  }

  /** The route's weights as stored, read (and its layout row locked) in `tx`: what a rollout will restore. */
  async view(route: string, tx: Tx): Promise<WeightsView> {
    const r = this.#route(route);
    const current = await this.#current(tx, route, '', false);
    return viewOf(current ?? computeAllocation(r), r.names);
  }

  #route(route: string): { names: string[]; configWeights: number[] } {
    const r = this.#routes.get(route);
    if (!r) throw new GatewayError('not_found', `No route named '${route.slice(0, 200)}'.`, { param: 'name' });
    return r;
  }

  /**
   * The route's allocation as stored, with its layout row locked until the transaction ends
   * (concurrent changes to one route queue here). Undefined when the route has no row and
   * `create` is false; with `create`, a row is made to lock, its empty layout replaced before commit.
   */
  async #current(tx: Tx, route: string, actor: string, create: boolean): Promise<Allocation | undefined> {
    const r = this.#routes.get(route)!;
    if (create) await tx.insert(routeLayouts).values({ route, layout: {}, updatedBy: actor }).onConflictDoNothing({ target: routeLayouts.route });
    const [row] = await tx.select().from(routeLayouts).where(eq(routeLayouts.route, route)).for('update');
    if (!row) return undefined;
    const rows = await tx.select().from(routeWeights).where(eq(routeWeights.route, route));
    const stored = row && Object.keys(row.layout).length > 0 ? row.layout : null;
    return computeAllocation({ ...r, override: overrideOf(rows), stored });
  }

  async #commit(tx: Tx, route: string, actor: string, action: string, before: Allocation, after: Allocation): Promise<WeightsChange> {
    const names = this.#routes.get(route)!.names;
    const layout: StoredLayout = toStored(after.pieces, names);
    await tx
      .update(routeLayouts)
      .set({ layout, revision: sql`${routeLayouts.revision} + 1`, updatedAt: sql`now()`, updatedBy: actor })
      .where(eq(routeLayouts.route, route));
    const change = { route, changed: true, before: viewOf(before, names), after: viewOf(after, names) };
    await appendAudit(tx, { actor, action, subject: `route:${route}`, before: change.before, after: change.after });
    await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${route})`);
    return change;
  }

  async #load(): Promise<void> {
    const { db } = this.#database;
    const [weightRows, layoutRows] = await Promise.all([db.select().from(routeWeights), db.select().from(routeLayouts)]);
    const allocations = new Map<string, Allocation>();
    const meta = new Map<string, RouteWeightsMeta>();
    for (const [name, r] of this.#routes) {
      const layout = layoutRows.find((l) => l.route === name);
      const stored = layout && Object.keys(layout.layout).length > 0 ? layout.layout : null;
      try {
        allocations.set(name, computeAllocation({ ...r, override: overrideOf(weightRows.filter((w) => w.route === name)), stored }));
      } catch (err) {
        this.#opts.onError(err);
        allocations.set(name, computeAllocation(r));
      }
      meta.set(name, { updatedAt: layout?.updatedAt ?? null, updatedBy: layout?.updatedBy ?? null });
    }
    this.#allocations = allocations;
    this.#meta = meta;
    this.#token = tokenOf(layoutRows.length, layoutRows.reduce((n, l) => n + l.revision, 0));
  }

  /** One look at a cheap aggregate, reloading when it moved; the refresher runs it one at a time. */
  async #poll(): Promise<void> {
    if (!this.#running) return;
    const [row] = await this.#database.db
      .select({ n: sql<number>`count(*)::int`, r: sql<string>`coalesce(sum(${routeLayouts.revision}), 0)::text` })
      .from(routeLayouts);
    if (tokenOf(row?.n ?? 0, Number(row?.r ?? 0)) !== this.#token) await this.reload();
  }
}

const tokenOf = (n: number, revisions: number): string => `${n}:${revisions}`;

function overrideOf(rows: ReadonlyArray<{ variant: string; weight: number }>): Record<string, number> | undefined {
  if (rows.length === 0) return undefined;
  return Object.fromEntries(rows.map((w) => [w.variant, w.weight]));
}

function viewOf(a: Allocation, names: readonly string[]): WeightsView {
  return { source: a.source, weights: Object.fromEntries(names.map((n, i) => [n, a.weights[i]!])) };
}
