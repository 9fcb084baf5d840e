import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptStore } from '../../prompts/index.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** Issue 8 end to end: ingest → a call on a RAG route → the model saw the documents, the record names them. */
describe('RAG through the gateway', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;
  const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

  let database: Database;

  beforeAll(async () => {
    fake = await startFakeProvider();
    // The route's prompt must exist before the gateway boots (the boot checks route prompts).
    database = await openDatabase({});
    await database.migrate();
    const prompts = new PromptStore(database);
    await prompts.createPrompt('grounded', null, 'test');
    await prompts.createVersion('grounded', { messages: [{ role: 'system', content: 'Answer only from: {{context}}' }], model: null, params: {}, variables: null }, 'test');
    gw = await startTestGateway({
      config: {
        providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } },
        retrievers: {
          docs: { type: 'postgres-fts', collection: 'handbook' },
          down: { type: 'http', url: 'http://127.0.0.1:9/retrieve', timeout_ms: 300, on_error: 'fail-closed' },
          maybe: { type: 'http', url: 'http://127.0.0.1:9/retrieve', timeout_ms: 300, on_error: 'fail-open' },
        },
        routes: {
          kb: { variants: [{ name: 'a', target: 'up/gpt-4o-mini' }], rag: { retriever: 'docs', top_k: 2 } },
          templated: { variants: [{ name: 'a', target: 'up/gpt-4o-mini', prompt: 'grounded@latest' }], rag: { retriever: 'docs', top_k: 1 } },
          strict: { variants: [{ name: 'a', target: 'up/gpt-4o-mini' }], rag: { retriever: 'docs', before: ['require-context'] } },
          closed: { variants: [{ name: 'a', target: 'up/gpt-4o-mini' }], rag: { retriever: 'down' } },
          open: { variants: [{ name: 'a', target: 'up/gpt-4o-mini' }], rag: { retriever: 'maybe' } },
        },
      },
      database,
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const res = await fetch(`${gw.url}/api/documents`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        documents: [
          { collection: 'handbook', id: 'vacation', text: 'Employees get 25 days of paid vacation per year.' },
          { collection: 'handbook', id: 'parking', text: 'Parking is free in the north garage for staff.' },
          { collection: 'handbook', id: 'lunch', text: 'Lunch is served in the canteen from noon.' },
        ],
      }),
    });
    expect(res.status).toBeLessThan(300);
  });
  afterAll(async () => {
    await gw.close();
    await database.close();
    await fake.close();
  });

  it('injects retrieved documents as a numbered system message and records their ids', async () => {
    await client.chat.completions.create({ model: 'kb', messages: [{ role: 'user', content: 'how many vacation days do employees get?' }] });
    const sent = fake.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]!.role).toBe('system');
    expect(sent.messages[0]!.content).toContain('25 days of paid vacation');
    await gw.sink.waitFor(1);
    const record = gw.sink.records.at(-1)!;
    expect(record.retrievedDocIds?.[0]).toBe('vacation');
    expect(record.retrievalMs).not.toBeNull();
    expect(JSON.stringify(record.rag)).toContain('25 days of paid vacation');
  });

  it("fills a prompt's {{context}} variable instead when the prompt declares it", async () => {
    await client.chat.completions.create({ model: 'templated', messages: [{ role: 'user', content: 'where can staff park?' }] });
    const sent = fake.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]!.content).toMatch(/^Answer only from: .*north garage/s);
    expect(sent.messages.filter((m) => m.role === 'system')).toHaveLength(1);
  });

  it('a hook that rejects gives a clean 4xx', async () => {
    const err = (await client.chat.completions.create({ model: 'strict', messages: [{ role: 'user', content: 'zebra xylophone quantum' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBeGreaterThanOrEqual(400);
    expect(err.status).toBeLessThan(500);
  });

  it('a failing retriever: fail-closed is a 502, fail-open answers without context', async () => {
    const err = (await client.chat.completions.create({ model: 'closed', messages: [{ role: 'user', content: 'anything' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    const ok = await client.chat.completions.create({ model: 'open', messages: [{ role: 'user', content: 'anything at all' }] });
    expect(ok.choices[0]!.message.content).toBe('Echo: anything at all');
  });

  it('previews retrieval through the documents API', async () => {
    const res = await fetch(`${gw.url}/api/documents/search?collection=handbook&q=${encodeURIComponent('free parking garage')}`, { headers: admin });
    const body = (await res.json()) as { data: Array<{ id: string; score: number }> };
    expect(body.data[0]!.id).toBe('parking');
    expect(body.data[0]!.score).toBeGreaterThan(0);
  });
});
