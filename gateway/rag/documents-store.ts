import { createHash } from 'node:crypto';
import { and, count, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { embeddingModelKey, type CollectionSettings } from './config.ts';
import { documents } from './schema.ts';
import type { EmbedFn } from './types.ts';

/** A document as clients send it. */
export interface DocumentInput {
  collection: string;
  id: string;
  text: string;
  metadata?: Record<string, unknown> | undefined;
}

export interface StoredDocument {
  collection: string;
  id: string;
  text: string;
  metadata: Record<string, unknown>;
  updatedAt: Date;
  /** `provider/model` of the stored embedding, or null when it has none. */
  embeddingModel: string | null;
}

export interface UpsertResult {
  upserted: number;
  /** Documents whose embedding was computed by this call (unchanged texts keep theirs). */
  embedded: number;
}

export interface DocumentStoreOptions {
  /** Per collection: text-search language and embeddings model (from the retriever config). */
  settings?: ReadonlyMap<string, CollectionSettings>;
  /** Needed when a collection is used by a pgvector or hybrid retriever. */
  embed?: EmbedFn | undefined;
  /** Texts per embeddings request. */
  embedBatch?: number;
  now?: () => Date;
}

const WRITE_BATCH = 500;
const DEFAULT_LANGUAGE = 'english';

/**
 * The RAG corpus: batch upserts (embedding on the way in where a vector retriever reads the
 * collection), deletes and reads. The tsvector is a generated column, so text search is always
 * in step with the text.
 */
export class DocumentStore {
  private readonly settings: ReadonlyMap<string, CollectionSettings>;
  private readonly embed: EmbedFn | undefined;
  private readonly embedBatch: number;
  private readonly now: () => Date;

  constructor(
    private readonly database: Database,
    opts: DocumentStoreOptions = {},
  ) {
    this.settings = opts.settings ?? new Map();
    this.embed = opts.embed;
    this.embedBatch = opts.embedBatch ?? 64;
    this.now = opts.now ?? (() => new Date());
  }

  languageOf(collection: string): string {
    return this.settings.get(collection)?.language ?? DEFAULT_LANGUAGE;
  }

  /** Inserts or replaces documents by (collection, id); a later duplicate in the batch wins. */
  async upsert(input: readonly DocumentInput[], signal?: AbortSignal): Promise<UpsertResult> {
    const byKey = new Map<string, DocumentInput>();
    for (const d of input) byKey.set(`${d.collection}\u0000${d.id}`, d);
    const docs = [...byKey.values()];
    const vectors = await this.embeddingsFor(docs, signal);
    const at = this.now();
    const rows = docs.map((d, i) => {
      const model = this.settings.get(d.collection)?.embeddings;
      return {
        collection: d.collection,
        id: d.id,
        text: d.text,
        metadata: d.metadata ?? {},
        language: this.languageOf(d.collection),
        embedding: vectors[i] ?? null,
        embeddingModel: model ? embeddingModelKey(model) : null,
        updatedAt: at,
      };
    });
    await this.database.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += WRITE_BATCH) {
        await tx
          .insert(documents)
          .values(rows.slice(i, i + WRITE_BATCH))
          .onConflictDoUpdate({
            target: [documents.collection, documents.id],
            set: {
              text: sql`excluded.text`,
              metadata: sql`excluded.metadata`,
              language: sql`excluded.language`,
              // An unchanged text keeps the embedding it has (embeddingsFor skipped it).
              embedding: sql`case when excluded.embedding is null and ${documents.text} = excluded.text
                and ${documents.embeddingModel} is not distinct from excluded.embedding_model
                then ${documents.embedding} else excluded.embedding end`,
              embeddingModel: sql`excluded.embedding_model`,
              updatedAt: sql`excluded.updated_at`,
            },
          });
      }
    });
    return { upserted: rows.length, embedded: vectors.filter((v) => v !== undefined).length };
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const deleted = await this.database.db
      .delete(documents)
      .where(and(eq(documents.collection, collection), eq(documents.id, id)))
      .returning({ id: documents.id });
    return deleted.length > 0;
  }

  async get(collection: string, id: string): Promise<StoredDocument | undefined> {
    const [row] = await this.database.db
      .select({
        collection: documents.collection,
        id: documents.id,
        text: documents.text,
        metadata: documents.metadata,
        updatedAt: documents.updatedAt,
        embeddingModel: documents.embeddingModel,
      })
      .from(documents)
      .where(and(eq(documents.collection, collection), eq(documents.id, id)));
    return row;
  }

  async count(collection: string): Promise<number> {
    const [row] = await this.database.db.select({ n: count() }).from(documents).where(eq(documents.collection, collection));
    return Number(row?.n ?? 0);
  }

  /**
   * Embeddings for the documents whose collection a vector retriever reads, index-aligned with
   * `docs` (undefined: none needed, or the stored one is still valid because the text is unchanged).
   */
  private async embeddingsFor(docs: readonly DocumentInput[], signal: AbortSignal | undefined): Promise<(number[] | undefined)[]> {
    const out: (number[] | undefined)[] = new Array(docs.length).fill(undefined);
    const groups = new Map<string, { target: string; dimensions: number | undefined; indices: number[] }>();
    docs.forEach((d, i) => {
      const e = this.settings.get(d.collection)?.embeddings;
      if (!e) return;
      const key = `${d.collection}\u0000${embeddingModelKey(e)}`;
      const group = groups.get(key) ?? { ...e, indices: [] };
      group.indices.push(i);
      groups.set(key, group);
    });
    if (groups.size === 0) return out;
    if (!this.embed) throw new Error('documents of a pgvector/hybrid collection need an embeddings function');
    for (const group of groups.values()) {
      const collection = docs[group.indices[0]!]!.collection;
      const fresh = await this.unchanged(collection, embeddingModelKey(group), group.indices.map((i) => docs[i]!));
      const todo = group.indices.filter((i) => !fresh.has(docs[i]!.id));
      for (let j = 0; j < todo.length; j += this.embedBatch) {
        const slice = todo.slice(j, j + this.embedBatch);
        const vectors = await this.embed(
          slice.map((i) => docs[i]!.text),
          { target: group.target, dimensions: group.dimensions, signal },
        );
        checkVectors(vectors, slice.length, group.dimensions, group.target);
        slice.forEach((docIndex, k) => (out[docIndex] = vectors[k]));
      }
    }
    return out;
  }

  /** Ids whose stored text equals the new one and already have an embedding of this model. */
  private async unchanged(collection: string, model: string, docs: DocumentInput[]): Promise<Set<string>> {
    const rows = await this.database.db
      .select({ id: documents.id, hash: sql<string>`md5(${documents.text})` })
      .from(documents)
      .where(
        and(
          eq(documents.collection, collection),
          inArray(
            documents.id,
            docs.map((d) => d.id),
          ),
          eq(documents.embeddingModel, model),
          isNotNull(documents.embedding),
        ),
      );
    const stored = new Map(rows.map((r) => [r.id, r.hash]));
    return new Set(docs.filter((d) => stored.get(d.id) === md5(d.text)).map((d) => d.id));
  }
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** A provider answer that is not usable vectors is a 502, like any malformed upstream response. */
function checkVectors(vectors: unknown, expected: number, dimensions: number | undefined, target: string): asserts vectors is number[][] {
  const bad = (why: string) => new GatewayError('upstream_bad_response', `Embeddings from ${target}: ${why}.`);
  if (!Array.isArray(vectors) || vectors.length !== expected) {
    throw bad(`expected ${expected} vectors, got ${Array.isArray(vectors) ? vectors.length : typeof vectors}`);
  }
  const size = (vectors[0] as unknown[] | undefined)?.length;
  for (const v of vectors) {
    if (!Array.isArray(v) || v.length === 0 || v.length !== size || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw bad('every vector must be a non-empty array of finite numbers, all of one length');
    }
    if (dimensions !== undefined && v.length !== dimensions) {
      throw bad(`expected ${dimensions} dimensions, got ${v.length}`);
    }
  }
}
