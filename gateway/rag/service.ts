import { sql } from 'drizzle-orm';
import { ConfigError } from '../config/load.ts';
import type { RouteRagConfig } from '../config/routes-schema.ts';
import { rowsOf, type Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logger.ts';
import {
  checkRagRoutes,
  collectionSettings,
  embeddingModelKey,
  parseRetrievers,
  type CollectionSettings,
  type RetrieverConfig,
  type RetrieverConfigs,
} from './config.ts';
import { DocumentStore } from './documents-store.ts';
import type { HookRegistry } from './hooks.ts';
import { hookRegistry } from './hooks/index.ts';
import { RagPipeline } from './pipeline.ts';
import { searchWithPolicy, type RetrievalPolicy } from './retrievers/guard.ts';
import { detectVectorMode, type VectorMode } from './retrievers/pgvector.ts';
import { PostgresFtsRetriever } from './retrievers/postgres-fts.ts';
import { createRetriever } from './retrievers/registry.ts';
import type { EmbedFn, RetrievedDoc, Retriever } from './types.ts';

export interface RagOptions {
  database: Database;
  /** `config.retrievers` as loaded (raw entries are parsed here) and `config.routes`. */
  config: {
    retrievers: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    routes: Readonly<Record<string, { rag?: RouteRagConfig | undefined }>>;
  };
  /** Embeddings through the gateway's providers; required when a pgvector/hybrid retriever is configured. */
  embed?: EmbedFn | undefined;
  /** Extra hooks by name (a name here replaces a built-in). */
  hooks?: HookRegistry | undefined;
  logger?: Logger | undefined;
}

export interface ConfiguredRetriever {
  retriever: Retriever;
  config: RetrieverConfig;
  policy: RetrievalPolicy;
}

export interface PreviewParams {
  q: string;
  topK: number;
  /** A configured retriever, or else an ad-hoc full-text search of `collection`. */
  retriever?: string | undefined;
  collection?: string | undefined;
  signal: AbortSignal;
}

/**
 * The RAG module's composition: retrievers from config, one pipeline per route with `rag:`, the
 * document store. Built once at boot (`createRag` throws ConfigError on bad config), then
 * `start()` checks what only the database can tell (text-search languages, pgvector).
 */
export class RagService {
  readonly store: DocumentStore;
  readonly retrievers: ReadonlyMap<string, ConfiguredRetriever>;
  private readonly pipelines: ReadonlyMap<string, RagPipeline>;
  private readonly configs: RetrieverConfigs;
  private readonly settings: ReadonlyMap<string, CollectionSettings>;

  constructor(private readonly opts: RagOptions) {
    const configs = parseRetrievers(opts.config.retrievers);
    this.configs = configs;
    const registry: HookRegistry = { ...hookRegistry, ...opts.hooks };
    const routes = checkRagRoutes(opts.config.routes, configs, (name) => registry[name]?.phase);
    const deps = { database: opts.database, embed: opts.embed, logger: opts.logger };
    const retrievers = new Map<string, ConfiguredRetriever>();
    for (const [name, config] of Object.entries(configs)) {
      retrievers.set(name, {
        retriever: createRetriever(name, config, deps),
        config,
        policy: { timeoutMs: config.timeout_ms, onError: config.on_error },
      });
    }
    this.retrievers = retrievers;
    this.pipelines = new Map(
      routes.map((rag) => {
        const r = retrievers.get(rag.retriever)!;
        return [rag.route, new RagPipeline(rag, { rag, retriever: r.retriever, policy: r.policy, logger: opts.logger }, registry, opts.logger)];
      }),
    );
    this.settings = collectionSettings(configs);
    this.store = new DocumentStore(opts.database, { settings: this.settings, embed: opts.embed });
  }

  /**
   * What only the database can tell: fails the boot (ConfigError) for a text-search language it
   * lacks; re-indexes rows stored under another language than the config now names (the
   * tsvector is generated, so setting `language` rebuilds it); warns about rows without an
   * embedding of the configured model (re-upsert them); reports the vector mode.
   */
  async start(): Promise<{ vectorMode: VectorMode | null }> {
    const languages = new Map<string, string>();
    for (const [name, c] of Object.entries(this.configs)) if (c.type === 'postgres-fts' || c.type === 'hybrid') languages.set(c.language, name);
    if (languages.size > 0) {
      const rows = rowsOf<{ cfgname: string }>(await this.opts.database.db.execute(sql`select cfgname from pg_ts_config`));
      const known = new Set(rows.map((r) => r.cfgname));
      for (const [language, name] of languages) {
        if (!known.has(language)) throw new ConfigError(`retrievers.${name}.language: the database has no text search configuration "${language}"`);
      }
    }
    await this.reconcileCollections();
    const vector = Object.values(this.configs).some((c) => c.type === 'pgvector' || c.type === 'hybrid');
    const vectorMode = vector ? await detectVectorMode(this.opts.database) : null;
    if (vectorMode === 'js') this.opts.logger?.info('rag: no pgvector extension; vector search scores in JS (bounded by max_scan)');
    return { vectorMode };
  }

  private async reconcileCollections(): Promise<void> {
    const db = this.opts.database.db;
    for (const [collection, s] of this.settings) {
      const [moved] = rowsOf<{ n: number }>(
        await db.execute(sql`with moved as (
            update documents set language = ${s.language}::regconfig
            where collection = ${collection} and language <> ${s.language}::regconfig returning 1)
          select count(*)::int as n from moved`),
      );
      if (moved && moved.n > 0) this.opts.logger?.info('rag: re-indexed documents for the configured language', { collection, language: s.language, count: moved.n });
      if (!s.embeddings) continue;
      const [stale] = rowsOf<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from documents
          where collection = ${collection} and (embedding is null or embedding_model is distinct from ${embeddingModelKey(s.embeddings)})`),
      );
      if (stale && stale.n > 0) {
        this.opts.logger?.warn('rag: documents without an embedding of the configured model are invisible to vector search; upsert them again', {
          collection,
          model: embeddingModelKey(s.embeddings),
          count: stale.n,
        });
      }
    }
  }

  /** The route's pipeline, or undefined when the route has no `rag:` block. */
  pipelineFor(route: string): RagPipeline | undefined {
    return this.pipelines.get(route);
  }

  /** Retrieval preview (GET /api/documents/search): errors are reported, never swallowed. */
  async preview(p: PreviewParams): Promise<{ retriever: string; documents: RetrievedDoc[]; ms: number }> {
    let retriever: Retriever;
    let timeoutMs = 5_000;
    if (p.retriever !== undefined) {
      const r = this.retrievers.get(p.retriever);
      if (!r) throw new GatewayError('not_found', `No retriever named '${p.retriever.slice(0, 100)}'.`, { param: 'retriever' });
      const collection = r.config.type === 'http' ? undefined : r.config.collection;
      if (p.collection !== undefined && p.collection !== collection) {
        throw new GatewayError('invalid_request', `Retriever '${p.retriever}' searches ${collection ? `collection '${collection}'` : 'an HTTP service'}, not '${p.collection}'.`, {
          param: 'collection',
        });
      }
      retriever = r.retriever;
      timeoutMs = r.policy.timeoutMs;
    } else if (p.collection !== undefined) {
      retriever = new PostgresFtsRetriever(this.opts.database, { name: `fts:${p.collection}`, collection: p.collection, language: this.store.languageOf(p.collection) });
    } else {
      throw new GatewayError('invalid_request', "Give 'collection' or 'retriever'.", { param: 'collection' });
    }
    const result = await searchWithPolicy(retriever, { timeoutMs, onError: 'fail-closed' }, p.q, { topK: p.topK, signal: p.signal }, this.opts.logger);
    return { retriever: retriever.name, documents: result.documents, ms: result.ms };
  }

  async close(): Promise<void> {
    for (const { retriever } of this.retrievers.values()) {
      const closable = retriever as Retriever & { close?: () => Promise<void> };
      await closable.close?.();
    }
  }
}

export function createRag(opts: RagOptions): RagService {
  return new RagService(opts);
}
