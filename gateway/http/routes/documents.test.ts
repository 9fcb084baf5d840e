import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import type { Database } from '../../db/client.ts';
import { silentLogger } from '../../logger.ts';
import { createRag, type RagService } from '../../rag/service.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { documentRoutes, MAX_BATCH, MAX_TEXT_CHARS } from './documents.ts';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

describe.each(testDatabases())('documents API on $kind', (target) => {
  let database: Database;
  let rag: RagService;
  let app: Hono<AppEnv>;

  const post = (body: unknown) =>
    app.request('/api/documents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    database = await target.open();
    rag = createRag({ database, config: { retrievers: { docs: { type: 'postgres-fts', collection: 'handbook' } }, routes: {} } });
    await rag.start();
    app = new Hono<AppEnv>();
    app.onError(errorHandler(silentLogger));
    app.route('/api/documents', documentRoutes(rag));
  });
  afterAll(async () => database?.close());

  it('upserts a batch, and a single document', async () => {
    const res = await post({
      documents: [
        { collection: 'handbook', id: 'leave', text: 'Employees get 25 days of paid leave per year.', metadata: { section: 'hr' } },
        { collection: 'handbook', id: 'guides/expenses.md#0', text: 'Submit expenses within 30 days with receipts.' },
        { collection: 'handbook', id: 3, text: 'Remote work needs a manager approval.' },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      object: 'list',
      upserted: 3,
      embedded: 0,
      data: [
        { collection: 'handbook', id: 'leave' },
        { collection: 'handbook', id: 'guides/expenses.md#0' },
        { collection: 'handbook', id: '3' },
      ],
    });
    const single = await post({ collection: 'handbook', id: 'parking', text: 'Parking spots are first come, first served.' });
    expect(single.status).toBe(200);
    expect((await single.json()) as object).toMatchObject({ upserted: 1 });
  });

  it('reads a document back (ids may contain slashes and #)', async () => {
    const res = await app.request(`/api/documents/handbook/${encodeURIComponent('guides/expenses.md#0')}`);
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toMatchObject({ collection: 'handbook', id: 'guides/expenses.md#0', text: 'Submit expenses within 30 days with receipts.' });
    const slashed = await app.request('/api/documents/handbook/guides/expenses.md%230');
    expect(slashed.status).toBe(200);
  });

  it('previews retrieval with scores, by retriever or by collection', async () => {
    const res = await app.request('/api/documents/search?retriever=docs&q=how%20many%20days%20of%20leave&top_k=2');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { retriever: string; retrieval_ms: number; data: { id: string; score: number; text: string }[] };
    expect(body.retriever).toBe('docs');
    expect(body.data[0]).toMatchObject({ id: 'leave', text: 'Employees get 25 days of paid leave per year.' });
    expect(body.data[0]!.score).toBeGreaterThan(0);
    expect(body.data.length).toBeLessThanOrEqual(2);
    const byCollection = (await (await app.request('/api/documents/search?collection=handbook&q=parking')).json()) as { data: { id: string }[] };
    expect(byCollection.data.map((d) => d.id)).toEqual(['parking']);
  });

  it('deletes, then 404s', async () => {
    const del = await app.request('/api/documents/handbook/parking', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ collection: 'handbook', id: 'parking', deleted: true });
    const again = await app.request('/api/documents/handbook/parking', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as ErrorBody).error).toMatchObject({ code: 'not_found', message: "No document 'parking' in collection 'handbook'." });
    expect((await app.request('/api/documents/handbook/parking')).status).toBe(404);
  });

  it.each([
    [{ documents: [] }, 400, 'documents', 'at least one document'],
    [{ documents: [{ collection: 'handbook', id: 'a', text: 'ok' }, { collection: 'handbook', id: 'b' }] }, 400, 'documents[1].text', ''],
    [{ documents: [{ collection: 'hand book', id: 'a', text: 'x' }] }, 400, 'documents[0].collection', 'must match'],
    [{ documents: [{ collection: 'handbook', id: '', text: 'x' }] }, 400, 'documents[0].id', ''],
    [{ documents: [{ collection: 'handbook', id: 'a', text: '   ' }] }, 400, 'documents[0].text', 'must not be empty'],
    [{ documents: [{ collection: 'handbook', id: 'a', text: 'x', extra: 1 }] }, 400, 'documents[0]', ''],
    [{ collection: 'handbook', id: 'a', text: 'x', metadata: 'no' }, 400, 'metadata', ''],
    [{ documents: [{ collection: 'handbook', id: 'a', text: 'x' }, { collection: 'handbook', id: 'big', text: 'x'.repeat(MAX_TEXT_CHARS + 1) }] }, 413, 'documents[1].text', 'at most'],
    [{ documents: Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ collection: 'handbook', id: String(i), text: 'x' })) }, 413, 'documents', `At most ${MAX_BATCH}`],
  ])('rejects bad input %# with %i naming %s', async (body, status, param, message) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    const err = ((await res.json()) as ErrorBody).error;
    expect(err.param).toBe(param);
    expect(err.message).toContain(message);
  });

  it('rejects a body that is not JSON, and bad search parameters', async () => {
    expect((await post('{nope')).status).toBe(400);
    for (const [query, param] of [
      ['?collection=handbook', 'q'],
      ['?collection=handbook&q=x&top_k=0', 'top_k'],
      ['?collection=handbook&q=x&top_k=abc', 'top_k'],
      ['?q=x', 'collection'],
      ['?q=x&retriever=missing', 'retriever'],
      ['?q=x&collection=handbook&bogus=1', ''],
    ] as const) {
      const res = await app.request(`/api/documents/search${query}`);
      expect(res.status, query).toBeGreaterThanOrEqual(400);
      expect(res.status, query).toBeLessThan(500);
      if (param) expect(((await res.json()) as ErrorBody).error.param, query).toBe(param);
    }
  });
});
