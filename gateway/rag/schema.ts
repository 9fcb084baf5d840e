import { sql } from 'drizzle-orm';
import { customType, index, jsonb, pgTable, primaryKey, real, text, timestamp } from 'drizzle-orm/pg-core';

/** Postgres text-search types; drizzle has no built-ins for them. */
const regconfig = customType<{ data: string }>({ dataType: () => 'regconfig' });
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * The RAG corpus (issue 8): one row per document (or chunk), keyed by collection and id.
 *
 * `tsv` is generated from `language` and `text`, so it can never drift from the text; the
 * language is stored per row because `to_tsvector(regconfig, text)` is immutable only with a
 * regconfig value, not a name to look up. `embedding` is a plain `real[]`: the migration must run
 * where the pgvector extension is absent (PGlite 0.5, stock Postgres). Where it is present the
 * pgvector retriever casts to `vector` at query time; otherwise it scores cosine in JS.
 */
export const documents = pgTable(
  'documents',
  {
    collection: text('collection').notNull(),
    id: text('id').notNull(),
    text: text('text').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    language: regconfig('language').notNull().default(sql`'english'::regconfig`),
    tsv: tsvector('tsv')
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector("language", "text")`),
    embedding: real('embedding').array(),
    /** `provider/model` (and dimensions) that produced `embedding`; vectors of other models are never compared. */
    embeddingModel: text('embedding_model'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'documents_pkey', columns: [t.collection, t.id] }),
    index('documents_tsv_idx').using('gin', t.tsv),
  ],
);

export type DocumentRow = typeof documents.$inferSelect;
