import { and, asc, eq, gt, isNotNull, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import { documents } from '../schema.ts';

export interface VectorScanOptions {
  collection: string;
  /** `documents.embedding_model` value; vectors of other models are skipped. */
  model: string;
  /** Most vectors read per search. */
  maxScan: number;
  /** Most bytes of vectors kept in memory between searches (0: never cache). */
  cacheBytes: number;
}

export interface ScanResult {
  scanned: number;
  /** True when the collection had more vectors than maxScan. */
  capped: boolean;
}

type Visit = (id: string, vector: Float32Array) => void;

const PAGE = 1_000;

/**
 * The stored vectors of one collection, for the JS fallback (no pgvector). Vectors are read in
 * pages ordered by id and kept as Float32Arrays up to `cacheBytes`, so repeated searches only
 * cost a stamp query (row count and newest update) plus the dot products. Every search checks
 * the stamp, so writes from any instance are seen on the next search. On Postgres vectors are
 * read in binary (`array_send`): parsing dense float text is ~10× slower.
 */
export class VectorScan {
  private cache: { stamp: string; ids: string[]; vectors: Float32Array[]; capped: boolean } | null = null;

  constructor(
    private readonly database: Database,
    private readonly opts: VectorScanOptions,
  ) {}

  /** Calls `visit` for each stored vector (matching `filter`, when given). */
  async forEach(visit: Visit, filter: SQL | undefined, signal: AbortSignal): Promise<ScanResult> {
    if (filter !== undefined) return this.scan(visit, filter, signal, null);
    const stamp = await this.stamp();
    let cache = this.cache;
    if (cache?.stamp !== stamp) {
      const ids: string[] = [];
      const vectors: Float32Array[] = [];
      let bytes = 0;
      let keep = this.opts.cacheBytes > 0;
      const result = await this.scan(
        (id, v) => {
          visit(id, v);
          if (!keep) return;
          bytes += v.byteLength + 64 + id.length * 2;
          if (bytes > this.opts.cacheBytes) {
            keep = false;
            ids.length = 0;
            vectors.length = 0;
            return;
          }
          ids.push(id);
          vectors.push(v);
        },
        undefined,
        signal,
        null,
      );
      this.cache = keep ? { stamp, ids, vectors, capped: result.capped } : null;
      return result;
    }
    for (let i = 0; i < cache.ids.length; i++) visit(cache.ids[i]!, cache.vectors[i]!);
    return { scanned: cache.ids.length, capped: cache.capped };
  }

  private async stamp(): Promise<string> {
    const [row] = rowsOf<{ stamp: string }>(
      await this.database.db.execute(sql`select count(*)::text || '/' || coalesce(max(updated_at)::text, '') as stamp
        from documents where collection = ${this.opts.collection} and embedding_model = ${this.opts.model} and embedding is not null`),
    );
    return row?.stamp ?? '';
  }

  private async scan(visit: Visit, filter: SQL | undefined, signal: AbortSignal, after: string | null): Promise<ScanResult> {
    let scanned = 0;
    for (;;) {
      signal.throwIfAborted();
      const limit = Math.min(PAGE, this.opts.maxScan - scanned);
      if (limit <= 0) return { scanned, capped: await this.hasMore(after, filter) };
      const page = await this.page(after, filter, limit);
      for (const row of page) visit(row.id, row.vector);
      scanned += page.length;
      if (page.length < limit) return { scanned, capped: false };
      after = page[page.length - 1]!.id;
    }
  }

  private where(after: string | null, filter: SQL | undefined) {
    return and(
      eq(documents.collection, this.opts.collection),
      eq(documents.embeddingModel, this.opts.model),
      isNotNull(documents.embedding),
      after === null ? undefined : gt(documents.id, after),
      filter,
    );
  }

  private async hasMore(after: string | null, filter: SQL | undefined): Promise<boolean> {
    const rows = await this.database.db.select({ id: documents.id }).from(documents).where(this.where(after, filter)).limit(1);
    return rows.length > 0;
  }

  private async page(after: string | null, filter: SQL | undefined, limit: number): Promise<{ id: string; vector: Float32Array }[]> {
    const where = this.where(after, filter);
    if (this.database.kind === 'postgres') {
      const rows = await this.database.db
        .select({ id: documents.id, bin: sql<Uint8Array>`array_send(${documents.embedding})` })
        .from(documents)
        .where(where)
        .orderBy(asc(documents.id))
        .limit(limit);
      return rows.map((r) => ({ id: r.id, vector: decodeFloat4Array(r.bin) }));
    }
    // PGlite parses array text in-process; its bytea path is slower.
    const rows = await this.database.db
      .select({ id: documents.id, embedding: documents.embedding })
      .from(documents)
      .where(where)
      .orderBy(asc(documents.id))
      .limit(limit);
    return rows.map((r) => ({ id: r.id, vector: Float32Array.from(r.embedding ?? []) }));
  }
}

/**
 * Postgres' binary array format (array_send) for a one-dimensional float4[] without NULLs:
 * int32 ndim, int32 has-nulls, oid element type, then per dimension int32 length and int32
 * lower bound, then per element int32 byte length (4) and the big-endian float.
 */
export function decodeFloat4Array(bin: Uint8Array): Float32Array {
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const ndim = view.getInt32(0);
  if (ndim === 0) return new Float32Array(0);
  if (ndim !== 1) throw new Error(`expected a one-dimensional array, got ${ndim} dimensions`);
  const length = view.getInt32(12);
  const out = new Float32Array(length);
  let at = 20;
  for (let i = 0; i < length; i++) {
    const len = view.getInt32(at);
    out[i] = len === 4 ? view.getFloat32(at + 4) : Number.NaN;
    at += 4 + Math.max(len, 0);
  }
  return out;
}
