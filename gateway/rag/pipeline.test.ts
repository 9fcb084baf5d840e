import { describe, expect, it } from 'vitest';
import { routeRagSchema } from '../config/routes-schema.ts';
import { estimateTextTokens } from '../cost/estimate-tokens.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { HookRegistry } from './hooks.ts';
import { hookRegistry } from './hooks/index.ts';
import { MAX_QUERY_CHARS } from './hooks/max-query-length.ts';
import { CONTEXT_PREAMBLE, TRUNCATION_MARK, withContextVariable } from './inject.ts';
import { RagPipeline, type RagBeforeInput } from './pipeline.ts';
import type { RetrievedDoc, Retriever, SearchOptions } from './types.ts';

const doc = (id: string, score: number, text = `text of ${id}`): RetrievedDoc => ({ id, collection: 'kb', text, score, metadata: {} });

/** A retriever over fixed results that records its queries. */
function fakeRetriever(results: RetrievedDoc[] | ((q: string, o: SearchOptions) => Promise<RetrievedDoc[]>)): Retriever & { queries: string[] } {
  const queries: string[] = [];
  return {
    name: 'docs',
    type: 'fake',
    queries,
    async search(q, o) {
      queries.push(q);
      return typeof results === 'function' ? results(q, o) : results.slice(0, o.topK);
    },
  };
}

function pipeline(retriever: Retriever, rag: Record<string, unknown> = {}, extra: HookRegistry = {}, onError: 'fail-open' | 'fail-closed' = 'fail-closed', timeoutMs = 1_000) {
  const config = { ...routeRagSchema.parse({ retriever: 'docs', ...rag }), route: 'support' };
  return new RagPipeline(config, { rag: config, retriever, policy: { timeoutMs, onError } }, { ...hookRegistry, ...extra });
}

const input = (over: Partial<RagBeforeInput> = {}): RagBeforeInput => ({
  request: {
    model: 'support',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: [{ type: 'text', text: 'How do refunds' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'work?' }] },
    ],
  },
  contextVariable: false,
  model: 'gpt-4o-mini',
  signal: new AbortController().signal,
  ...over,
});

describe('query', () => {
  it('is the last user turn, text parts joined', async () => {
    const r = fakeRetriever([]);
    const run = await pipeline(r).runBefore(input());
    expect(r.queries).toEqual(['How do refunds\nwork?']);
    expect(run.record.query).toBe('How do refunds\nwork?');
  });

  it('follows the route template, with {{query}} and prompt variables', async () => {
    const r = fakeRetriever([]);
    await pipeline(r, { query: 'product {{product}}: {{query}}' }).runBefore(input({ variables: { product: 'Widget' } }));
    expect(r.queries).toEqual(['product Widget: How do refunds\nwork?']);
  });

  it('a template variable the request lacks is a 400 naming it', async () => {
    const err = await pipeline(fakeRetriever([]), { query: '{{question}}' }).runBefore(input()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request', status: 400, param: 'prompt.variables.question' });
  });

  it('an empty query retrieves nothing and injects nothing', async () => {
    const r = fakeRetriever([doc('a', 1)]);
    const run = await pipeline(r).runBefore(input({ request: { messages: [{ role: 'system', content: 'hi' }] } }));
    expect(r.queries).toEqual([]);
    expect(run.record).toMatchObject({ documents: [], injectedText: null, retrievalMs: null });
    expect(run.inject([{ role: 'user', content: 'x' }])).toEqual([{ role: 'user', content: 'x' }]);
  });
});

describe('injection', () => {
  const docs = [doc('refunds', 0.9, 'Refunds take 5 days.'), doc('shipping', 0.5, 'Shipping takes 3 days.')];

  it('adds a system message with numbered sources after the existing system messages', async () => {
    const run = await pipeline(fakeRetriever(docs)).runBefore(input());
    const context = '[1] (refunds) Refunds take 5 days.\n\n[2] (shipping) Shipping takes 3 days.';
    expect(run.contextVariable).toBeNull();
    expect(run.record.injectedText).toBe(`${CONTEXT_PREAMBLE}\n\n${context}`);
    const final = run.inject([
      { role: 'system', content: 'prompt system' },
      { role: 'developer', content: 'dev' },
      { role: 'user', content: 'q' },
    ]);
    expect(final.map((m) => m.role)).toEqual(['system', 'developer', 'system', 'user']);
    expect(final[2]).toEqual({ role: 'system', content: run.record.injectedText });
    expect(run.record.documents).toEqual([
      { id: 'refunds', collection: 'kb', score: 0.9, truncated: false },
      { id: 'shipping', collection: 'kb', score: 0.5, truncated: false },
    ]);
    expect(run.record.retrievalMs).toBeGreaterThanOrEqual(0);
  });

  it('returns the context for {{context}} and leaves the messages alone when the prompt declares it', async () => {
    const run = await pipeline(fakeRetriever(docs)).runBefore(input({ contextVariable: true }));
    expect(run.contextVariable).toBe('[1] (refunds) Refunds take 5 days.\n\n[2] (shipping) Shipping takes 3 days.');
    expect(run.record.injectedText).toBe(run.contextVariable);
    const messages = [{ role: 'user', content: 'q' }];
    expect(run.inject(messages)).toEqual(messages);
  });

  it('gives an empty {{context}} when nothing was retrieved, so the prompt still renders', async () => {
    const run = await pipeline(fakeRetriever([])).runBefore(input({ contextVariable: true }));
    expect(run.contextVariable).toBe('');
    expect(run.record.injectedText).toBeNull();
  });

  it('withContextVariable sets prompt.variables.context, keeping the rest', () => {
    expect(withContextVariable({ model: 'm', prompt: { id: 'qa', variables: { q: 1, context: 'client' } } }, 'ctx')).toEqual({
      model: 'm',
      prompt: { id: 'qa', variables: { q: 1, context: 'ctx' } },
    });
    expect(withContextVariable({ model: 'm' }, 'ctx')).toEqual({ model: 'm', prompt: { variables: { context: 'ctx' } } });
  });

  it('applies top_k and min_score', async () => {
    const r = fakeRetriever([doc('a', 0.9), doc('b', 0.4), doc('c', 0.2), doc('d', 0.1)]);
    const run = await pipeline(r, { top_k: 3, min_score: 0.3 }).runBefore(input());
    expect(run.record.documents.map((d) => d.id)).toEqual(['a', 'b']);
  });

  it('honours the token budget: lowest-ranked documents go first, none is cut', async () => {
    const long = (id: string, score: number) => doc(id, score, `${id} `.repeat(60).trim());
    const r = fakeRetriever([long('alpha', 3), long('beta', 2), long('gamma', 1)]);
    const one = estimateTextTokens(`[1] (alpha) ${'alpha '.repeat(60).trim()}`, 'gpt-4o-mini');
    const run = await pipeline(r, { token_budget: Math.floor(one * 2.5) }).runBefore(input({ contextVariable: true }));
    expect(run.record.documents.map((d) => d.id)).toEqual(['alpha', 'beta']);
    expect(estimateTextTokens(run.contextVariable!, 'gpt-4o-mini')).toBeLessThanOrEqual(Math.floor(one * 2.5));
    expect(run.state.annotations.dropped_by_budget).toBe(1);
    expect(run.contextVariable).not.toContain(TRUNCATION_MARK);
  });

  it('truncates (and marks) the best document only when it alone exceeds the budget', async () => {
    const big = doc('manual', 1, 'word '.repeat(500).trim());
    const run = await pipeline(fakeRetriever([big, doc('small', 0.5)]), { token_budget: 40 }).runBefore(input({ contextVariable: true }));
    expect(run.record.documents).toEqual([{ id: 'manual', collection: 'kb', score: 1, truncated: true }]);
    expect(run.contextVariable!.endsWith(TRUNCATION_MARK)).toBe(true);
    expect(run.contextVariable!.startsWith('[1] (manual) word word')).toBe(true);
    expect(estimateTextTokens(run.contextVariable!, 'gpt-4o-mini')).toBeLessThanOrEqual(40);
  });
});

describe('before hooks', () => {
  it('require-context rejects with a 422 when nothing was retrieved', async () => {
    const err = await pipeline(fakeRetriever([]), { before: ['retrieve', 'require-context'] }).runBefore(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'invalid_request', status: 422 });
    expect((err as Error).message).toContain("route 'support' answers only from retrieved sources");
  });

  it('require-context passes when something was retrieved; retrieve runs first when not listed', async () => {
    const run = await pipeline(fakeRetriever([doc('a', 1)]), { before: ['require-context'] }).runBefore(input());
    expect(run.record.documents).toHaveLength(1);
  });

  it('max-query-length rejects a long query with a 400 before retrieving', async () => {
    const r = fakeRetriever([doc('a', 1)]);
    const long = input({ request: { messages: [{ role: 'user', content: 'x'.repeat(MAX_QUERY_CHARS + 1) }] } });
    const err = await pipeline(r, { before: ['max-query-length', 'retrieve'] }).runBefore(long).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request', status: 400, param: 'messages' });
    expect(r.queries).toEqual([]);
  });

  it('a custom hook may rewrite the query, set filters, add messages and drop documents — in order', async () => {
    const r = fakeRetriever(async (_q, o) => (o.filters?.tenant === 'acme' ? [doc('keep', 1), doc('secret', 0.5)] : []));
    const hooks: HookRegistry = {
      'tenant-scope': {
        phase: 'before',
        create: () => ({
          name: 'tenant-scope',
          phase: 'before',
          timeoutMs: 100,
          run(s) {
            s.query = `${s.query} (rewritten)`;
            s.filters = { tenant: 'acme' };
            s.request.messages.push({ role: 'user', content: 'added by a hook' });
          },
        }),
      },
      redact: {
        phase: 'before',
        create: () => ({ name: 'redact', phase: 'before', timeoutMs: 100, run: (s) => void (s.documents = s.documents.filter((d) => d.id !== 'secret')) }),
      },
    };
    const run = await pipeline(r, { before: ['tenant-scope', 'retrieve', 'redact'] }, hooks).runBefore(input());
    expect(r.queries).toEqual(['How do refunds\nwork? (rewritten)']);
    expect(run.record.documents.map((d) => d.id)).toEqual(['keep']);
    expect(run.request.messages.at(-1)).toEqual({ role: 'user', content: 'added by a hook' });
  });

  it('a hook that rejects gives its 4xx; one that hangs is a 504 at its budget; one that crashes a hidden 500', async () => {
    const make = (name: string, timeoutMs: number, run: () => Promise<void> | void): HookRegistry => ({
      [name]: { phase: 'before', create: () => ({ name, phase: 'before', timeoutMs, run }) },
    });
    const reject = make('deny', 100, () => {
      throw new GatewayError('invalid_request', 'Topic not allowed on this route.', { param: 'messages' });
    });
    await expect(pipeline(fakeRetriever([]), { before: ['deny'] }, reject).runBefore(input())).rejects.toMatchObject({
      status: 400,
      message: 'Topic not allowed on this route.',
    });
    const hang = make('slow', 100, () => new Promise(() => {}));
    const started = performance.now();
    await expect(pipeline(fakeRetriever([]), { before: ['slow'] }, hang).runBefore(input())).rejects.toMatchObject({
      code: 'upstream_timeout',
      status: 504,
      message: "RAG hook 'slow' timed out after 100 ms.",
    });
    expect(performance.now() - started).toBeLessThan(400);
    const crash = make('buggy', 100, () => {
      throw new TypeError('x is undefined');
    });
    const err = (await pipeline(fakeRetriever([]), { before: ['buggy'] }, crash).runBefore(input()).catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('internal_error');
    expect(err.publicMessage).not.toContain('x is undefined');
  });

  it('retrieval failure: fail-open goes on without context, fail-closed is a 502', async () => {
    const broken = fakeRetriever(async () => {
      throw new Error('connection reset');
    });
    const open = await pipeline(broken, {}, {}, 'fail-open').runBefore(input());
    expect(open.record).toMatchObject({ documents: [], injectedText: null, annotations: { retrieval_error: 'failed' } });
    await expect(pipeline(broken, {}, {}, 'fail-closed').runBefore(input())).rejects.toMatchObject({ code: 'upstream_error', status: 502, message: "Retriever 'docs' failed." });
    const strict = await pipeline(broken, { before: ['retrieve', 'require-context'] }, {}, 'fail-open').runBefore(input()).catch((e: unknown) => e);
    expect((strict as Error).message).toContain('(retrieval failed)');
  });

  it('a hanging retriever never holds the call past its timeout (fail-open)', async () => {
    const hanging = fakeRetriever(() => new Promise(() => {}));
    const started = performance.now();
    const run = await pipeline(hanging, {}, {}, 'fail-open', 150).runBefore(input());
    expect(performance.now() - started).toBeLessThan(500);
    expect(run.record.annotations.retrieval_error).toBe('timed out after 150 ms');
  });

  it('does not mutate the caller’s request', async () => {
    const req = input();
    const before = structuredClone(req.request);
    const hooks: HookRegistry = {
      add: { phase: 'before', create: () => ({ name: 'add', phase: 'before', timeoutMs: 100, run: (s) => void s.request.messages.push({ role: 'user', content: 'x' }) }) },
    };
    await pipeline(fakeRetriever([]), { before: ['add'] }, hooks).runBefore(req);
    expect(req.request).toEqual(before);
  });
});

describe('after hooks', () => {
  const docs = [doc('refunds', 0.9), doc('shipping', 0.5), doc('returns', 0.3)];

  it('annotate-citations records the cited document ids and invalid numbers', async () => {
    const p = pipeline(fakeRetriever(docs), { after: ['annotate-citations'] });
    const run = await p.runBefore(input());
    const result = await p.runAfter(run, { text: 'Refunds take 5 days [1]. Shipping [2], see also [1] and [7].', body: null, streamed: false }, new AbortController().signal);
    expect(result.blocked).toBeNull();
    expect(result.annotations).toMatchObject({ citations: ['refunds', 'shipping'], invalid_citations: [7] });
    expect(run.record.annotations).toBe(result.annotations);
  });

  it('a blocking after hook returns its error (not thrown) so the caller can still log and price', async () => {
    const hooks: HookRegistry = {
      'no-urls': {
        phase: 'after',
        create: () => ({
          name: 'no-urls',
          phase: 'after',
          timeoutMs: 100,
          run(s) {
            if (/https?:\/\//.test(s.completion.text)) throw new GatewayError('invalid_request', 'The answer was blocked: it contains a link.', { status: 422 });
          },
        }),
      },
    };
    const p = pipeline(fakeRetriever(docs), { after: ['no-urls'] }, hooks);
    const run = await p.runBefore(input());
    const blocked = await p.runAfter(run, { text: 'see http://evil', body: {}, streamed: false }, new AbortController().signal);
    expect(blocked.blocked).toMatchObject({ status: 422, message: 'The answer was blocked: it contains a link.' });
    expect(blocked.annotations.blocked).toEqual({ code: 'invalid_request', message: 'The answer was blocked: it contains a link.' });
    const fine = await p.runAfter(await p.runBefore(input()), { text: 'no links', body: {}, streamed: true }, new AbortController().signal);
    expect(fine.blocked).toBeNull();
  });
});
