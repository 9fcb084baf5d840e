import { and, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import { embeddingModelKey } from '../config.ts';
import { documents } from '../schema.ts';
import type { EmbedFn, RetrievedDoc, Retriever, SearchOptions } from '../types.ts';
import { cosine, norm, TopK } from './vector-math.ts';
import { VectorScan } from './vector-scan.ts';

export interface VectorOptions {
  name: string;
  collection: string;
  embeddings: string;
  dimensions: number | undefined;
  /** Largest number of vectors the JS fallback compares per search. */
  maxScan: number;
  /** Bytes of vectors kept in memory between searches by the JS fallback (default 64 MiB). */
  cacheBytes?: number;
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

export type VectorMode = 'pgvector' | 'js';

const detected = new WeakMap<Database, Promise<VectorMode>>();

/**
 * Whether the database can do vector search itself. Installed → use it; available but not
 * installed → try `create extension` (needs the privilege); otherwise the JS fallback. Neither
 * stock Postgres 15 nor PGlite 0.5 (without its vector bundle loaded) has the extension.
 */
export function detectVectorMode(database: Database): Promise<VectorMode> {
  let mode = detected.get(database);
  if (!mode) {
    mode = (async (): Promise<VectorMode> => {
      const [row] = rowsOf<{ installed: boolean; available: boolean }>(
        await database.db.execute(sql`select
          exists(select 1 from pg_extension where extname = 'vector') as installed,
          exists(select 1 from pg_available_extensions where name = 'vector') as available`),
      );
      if (row?.installed) return 'pgvector';
      if (!row?.available) return 'js';
      try {
        await database.db.execute(sql`create extension if not exists vector`);
        return 'pgvector';
      } catch {
        return 'js';
      }
    })();
    detected.set(database, mode);
  }
  return mode;
}

/**
 * Nearest neighbours by cosine similarity of embeddings (scores in [-1, 1]).
 *
 * With pgvector the database ranks `embedding::vector <=> query` (exact search: the column is
 * `real[]` so the same migration runs everywhere; no ANN index yet). Without it, the JS
 * fallback (vector-scan.ts) compares the query with every stored vector of the collection —
 * at most `max_scan` of them (default 20,000; logged once when a collection is larger, and
 * the rest is not searched), cached in memory up to 64 MiB between searches. A brute-force
 * scan of 10,000 vectors of 1,536 dimensions is ~15 M multiply-adds (tens of ms); past that
 * size, install pgvector.
 */
export class PgvectorRetriever implements Retriever {
  readonly type: string = 'pgvector';
  readonly name: string;
  private readonly model: string;
  private readonly scan: VectorScan;
  private warned = false;

  constructor(
    private readonly database: Database,
    private readonly embed: EmbedFn,
    private readonly opts: VectorOptions,
    private readonly logger?: Logger,
  ) {
    this.name = opts.name;
    this.model = embeddingModelKey({ target: opts.embeddings, dimensions: opts.dimensions });
    this.scan = new VectorScan(database, { collection: opts.collection, model: this.model, maxScan: opts.maxScan, cacheBytes: opts.cacheBytes ?? DEFAULT_CACHE_BYTES });
  }

  async search(query: string, opts: SearchOptions): Promise<RetrievedDoc[]> {
    const [vector] = await this.embed([query], { target: this.opts.embeddings, dimensions: this.opts.dimensions, signal: opts.signal });
    if (!vector || vector.length === 0) throw new Error(`embeddings from ${this.opts.embeddings}: no vector for the query`);
    return (await detectVectorMode(this.database)) === 'pgvector' ? this.searchNative(vector, opts) : this.searchJs(vector, opts);
  }

  private async searchNative(vector: number[], { topK, filters }: SearchOptions): Promise<RetrievedDoc[]> {
    const literal = `[${vector.join(',')}]`;
    const filter = filters && Object.keys(filters).length > 0 ? sql`and d.metadata @> ${JSON.stringify(filters)}::jsonb` : sql``;
    const result = await this.database.db.execute(sql`
      select d.id, d.collection, d.text, d.metadata, 1 - (d.embedding::vector <=> ${literal}::vector) as score
      from documents d
      where d.collection = ${this.opts.collection} and d.embedding_model = ${this.model}
        and d.embedding is not null ${filter}
      order by d.embedding::vector <=> ${literal}::vector, d.id
      limit ${topK}`);
    return rowsOf<{ id: string; collection: string; text: string; metadata: Record<string, unknown>; score: number | string }>(result).map(
      (r) => ({ ...r, metadata: r.metadata ?? {}, score: Number(r.score) }),
    );
  }

  private async searchJs(vector: number[], { topK, filters, signal }: SearchOptions): Promise<RetrievedDoc[]> {
    const best = new TopK<{ key: string; score: number }>(topK);
    const query = Float32Array.from(vector);
    const queryNorm = norm(query);
    const filter = filters && Object.keys(filters).length > 0 ? sql`${documents.metadata} @> ${JSON.stringify(filters)}::jsonb` : undefined;
    const { capped } = await this.scan.forEach((id, v) => best.offer({ key: id, score: cosine(v, query, queryNorm) }), filter, signal);
    if (capped && !this.warned) {
      this.warned = true;
      this.logger?.warn('rag: vector search stopped at max_scan; install pgvector or raise max_scan', {
        retriever: this.name,
        collection: this.opts.collection,
        maxScan: this.opts.maxScan,
      });
    }
    if (best.items.length === 0) return [];
    const rows = await this.database.db
      .select({ id: documents.id, collection: documents.collection, text: documents.text, metadata: documents.metadata })
      .from(documents)
      .where(
        and(
          eq(documents.collection, this.opts.collection),
          inArray(
            documents.id,
            best.items.map((b) => b.key),
          ),
        ),
      );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return best.items.flatMap((b) => {
      const row = byId.get(b.key);
      return row ? [{ ...row, metadata: row.metadata ?? {}, score: b.score }] : [];
    });
  }
}
