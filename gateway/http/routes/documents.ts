import { Hono } from 'hono';
import { z } from 'zod';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { DocumentStore } from '../../rag/documents-store.ts';
import type { PreviewParams } from '../../rag/service.ts';
import type { RetrievedDoc } from '../../rag/types.ts';
import type { AppEnv } from '../env.ts';
import { readJsonObject } from '../read-json.ts';

export interface DocumentRoutesDeps {
  store: Pick<DocumentStore, 'upsert' | 'delete' | 'get'>;
  /** `RagService.preview`: retrieval as a configured retriever (or plain full-text search) would do it. */
  preview(p: PreviewParams): Promise<{ retriever: string; documents: RetrievedDoc[]; ms: number }>;
}

export const MAX_BATCH = 1_000;
/** Characters per document: a document is a chunk; long texts go through `sluice docs ingest`. */
export const MAX_TEXT_CHARS = 100_000;
export const MAX_TOP_K = 100;

const collection = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 100 characters)');
const docId = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

const documentSchema = z.strictObject({
  collection,
  id: z.union([docId, z.number().int().nonnegative().transform(String)]),
  text: z.string().refine((t) => t.trim() !== '', 'must not be empty'),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const batchSchema = z.strictObject({ documents: z.array(documentSchema).min(1, 'must hold at least one document') });

const searchSchema = z.strictObject({
  q: z.string().min(1, 'must not be empty').max(4_000, 'must be at most 4000 characters'),
  collection: collection.optional(),
  retriever: z.string().min(1).max(200).optional(),
  top_k: z
    .string()
    .regex(/^\d+$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_TOP_K, `must be at most ${MAX_TOP_K}`))
    .optional(),
});

/**
 * Admin API for the RAG corpus (mounted at /api/documents behind admin auth):
 * - `POST /` upserts `{documents: [{collection, id, text, metadata?}]}` or one such object;
 *   at most MAX_BATCH documents of MAX_TEXT_CHARS characters (413 naming the item beyond that).
 * - `GET /search?q=&collection=&retriever=&top_k=` previews retrieval with scores.
 * - `GET /{collection}/{id}` and `DELETE /{collection}/{id}` (ids may contain `/`; 404 if absent).
 */
export function documentRoutes(deps: DocumentRoutesDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = await readJsonObject(c);
    const batch = 'documents' in body;
    const items: unknown[] = batch ? (Array.isArray(body.documents) ? body.documents : []) : [body];
    // Sizes first: an oversized batch or text is a 413, not a schema error.
    if (items.length > MAX_BATCH) {
      throw new GatewayError('body_too_large', `At most ${MAX_BATCH} documents per request; got ${items.length}. Send several batches.`, { param: 'documents' });
    }
    items.forEach((item, i) => {
      const text = (item as { text?: unknown } | null)?.text;
      if (typeof text === 'string' && text.length > MAX_TEXT_CHARS) {
        const param = batch ? `documents[${i}].text` : 'text';
        throw new GatewayError(
          'body_too_large',
          `'${param}' is ${text.length} characters; a document may have at most ${MAX_TEXT_CHARS} (split it, e.g. with 'sluice docs ingest').`,
          { param },
        );
      }
    });
    const docs = batch ? validate(batchSchema, body).documents : [validate(documentSchema, body)];
    const result = await deps.store.upsert(docs, c.req.raw.signal);
    return c.json({ object: 'list', upserted: result.upserted, embedded: result.embedded, data: docs.map((d) => ({ collection: d.collection, id: d.id })) });
  });

  app.get('/search', async (c) => {
    const q = validate(searchSchema, c.req.query());
    const result = await deps.preview({
      q: q.q,
      topK: q.top_k ?? 5,
      retriever: q.retriever,
      collection: q.collection,
      signal: c.req.raw.signal,
    });
    return c.json({
      object: 'list',
      retriever: result.retriever,
      retrieval_ms: Math.round(result.ms * 1000) / 1000,
      data: result.documents.map((d) => ({ collection: d.collection, id: d.id, score: d.score, text: d.text, metadata: d.metadata })),
    });
  });

  app.get('/:collection/:id{.+}', async (c) => {
    const { collection: name, id } = c.req.param();
    const doc = await deps.store.get(name, id);
    if (!doc) throw notFound(name, id);
    return c.json({ collection: doc.collection, id: doc.id, text: doc.text, metadata: doc.metadata, updated_at: doc.updatedAt.toISOString(), embedding_model: doc.embeddingModel });
  });

  app.delete('/:collection/:id{.+}', async (c) => {
    const { collection: name, id } = c.req.param();
    if (!(await deps.store.delete(name, id))) throw notFound(name, id);
    return c.json({ collection: name, id, deleted: true });
  });

  return app;
}

function notFound(collection: string, id: string): GatewayError {
  return new GatewayError('not_found', `No document '${id.slice(0, 200)}' in collection '${collection.slice(0, 100)}'.`, { param: 'id' });
}
