import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../gateway/db/client.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { PromptError, promptErrorBody } from './errors.ts';
import { promptRoutes } from './routes.ts';
import { auditLog } from './schema.ts';
import { PromptStore } from './store.ts';

type Json = Record<string, any>;

/** Mounted as the gateway mounts it, with an onError that renders PromptError OpenAI-shaped. */
function testApp(store: PromptStore): Hono {
  const app = new Hono();
  app.route('/api/prompts', promptRoutes({ store, actor: (c) => c.req.header('x-actor') ?? 'admin' }));
  app.onError((err, c) => {
    if (err instanceof PromptError) return c.json(promptErrorBody(err), err.status);
    return c.json({ error: { message: 'internal', type: 'api_error', param: null, code: 'internal_error' } }, 500);
  });
  return app;
}

describe.each(testDatabases())('prompt registry API on $kind', (target) => {
  let database: Database;
  let store: PromptStore;
  let app: Hono;

  beforeAll(async () => {
    database = await target.open();
    store = new PromptStore(database);
    app = testApp(store);
  });
  afterAll(async () => {
    await database?.close();
  });

  async function call(method: string, path: string, body?: unknown, actor = 'admin-key') {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json', 'x-actor': actor } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await app.request(`/api/prompts${path}`, init);
    return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
  }
  function expectError(r: { status: number; body: Json }, status: number, param: string | null, code?: string) {
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(typeof r.body.error.message).toBe('string');
    if (code) expect(r.body.error.code).toBe(code);
  }

  it('runs the whole flow: create, version, label, resolve, render, diff', async () => {
    const created = await call('POST', '', { name: 'support', description: 'Support bot' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'prompt', name: 'support', description: 'Support bot', latest_version: null, labels: {} });
    expectError(await call('POST', '', { name: 'support' }), 409, 'name', 'conflict');

    const v1 = await call('POST', '/support/versions', {
      messages: [
        { role: 'system', content: 'You help {{company}} customers. Be {{tone}}.' },
        { role: 'user', content: [{ type: 'text', text: 'Question: {{question}}' }] },
      ],
      model: 'openai/gpt-4o-mini',
      params: { temperature: 0.2 },
      variables: { type: 'object', properties: { tone: { type: 'string', default: 'kind' }, question: { type: 'string' } }, required: ['question'] },
      message: 'first cut',
    });
    expect(v1.status).toBe(201);
    expect(v1.body).toEqual({ version: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const v2 = await call('POST', '/support/versions', {
      messages: [{ role: 'system', content: 'You help {{company}} customers. Be {{ tone }} and brief.' }, { role: 'user', content: '{{question}}' }],
      model: 'openai/gpt-4o-mini',
      params: { temperature: 0.2 },
      variables: { type: 'object', properties: { tone: { type: 'string', default: 'kind' }, question: { type: 'string' } }, required: ['question'] },
    });
    expect(v2).toMatchObject({ status: 201, body: { version: 2 } });

    const label = await call('PUT', '/support/labels/production', { version: 1 }, 'alice');
    expect(label.body).toEqual({ object: 'prompt.label', prompt: 'support', label: 'production', version: 1, previous_version: null });

    const list = await call('GET', '');
    expect(list.body.data).toEqual([expect.objectContaining({ name: 'support', latest_version: 2, labels: { production: 1 } })]);
    expect((await call('GET', '/support')).body).toMatchObject({ name: 'support', latest_version: 2, labels: { production: 1 } });

    const versions = await call('GET', '/support/versions');
    expect(versions.body.data.map((v: Json) => [v.version, v.labels, v.author])).toEqual([
      [1, ['production'], 'admin-key'],
      [2, ['latest'], 'admin-key'],
    ]);
    const one = await call('GET', '/support/versions/1');
    expect(one.body).toMatchObject({ object: 'prompt.version', prompt: 'support', version: 1, message: 'first cut', model: 'openai/gpt-4o-mini' });

    expect((await call('GET', '/support/resolve?label=production')).body.version).toBe(1);
    expect((await call('GET', '/support/resolve?label=latest')).body.version).toBe(2);
    expect((await call('GET', '/support/resolve?version=2')).body.version).toBe(2);
    expect((await call('GET', '/support/resolve')).body.version).toBe(2);

    const rendered = await call('POST', '/support/render', { label: 'production', variables: { company: 'Acme', question: 'Where is my order?' } });
    expect(rendered.status).toBe(200);
    expect(rendered.body).toEqual({
      prompt: 'support',
      version: 1,
      messages: [
        { role: 'system', content: 'You help Acme customers. Be kind.' },
        { role: 'user', content: [{ type: 'text', text: 'Question: Where is my order?' }] },
      ],
    });
    const byVersion = await call('POST', '/support/render', { version: 2, variables: { company: 'Acme', question: 'Hi', tone: 'formal' } });
    expect(byVersion.body.messages[0].content).toBe('You help Acme customers. Be formal and brief.');

    const diff = await call('GET', '/support/diff?from=1&to=2');
    expect(diff.status).toBe(200);
    expect(diff.body).toMatchObject({ prompt: 'support', from: 1, to: 2, identical: false, model: null, params: [], variables: [] });
    expect(diff.body.messages.map((m: Json) => m.change)).toEqual(['modified', 'modified']);
    expect(diff.body.messages[0].content_diff).toContain('+You help {{company}} customers. Be {{ tone }} and brief.');
    expect(diff.body.unified).toContain('--- support@1');
    expect((await call('GET', '/support/diff?from=production&to=latest')).body).toMatchObject({ from: 1, to: 2 });
    expect((await call('GET', '/support/diff')).body).toMatchObject({ from: 1, to: 2 });

    // Every change is in the audit log, with who did it.
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:support'));
    expect(audit.map((r) => [r.action, r.actor])).toEqual([
      ['prompt.created', 'admin-key'],
      ['prompt.version_created', 'admin-key'],
      ['prompt.version_created', 'admin-key'],
      ['prompt.label_moved', 'alice'],
    ]);
  });

  it('keeps versions immutable: identical content returns the latest with 200; edits are 405', async () => {
    await call('POST', '', { name: 'immutable' });
    const body = { messages: [{ role: 'system', content: 'Same.' }], params: { b: 1, a: 2 } };
    const first = await call('POST', '/immutable/versions', body);
    expect(first.status).toBe(201);
    // Same content with keys in another order and explicit nulls is still identical.
    const again = await call('POST', '/immutable/versions', { params: { a: 2, b: 1 }, model: null, messages: [{ content: 'Same.', role: 'system' }], message: 'retry' });
    expect(again).toMatchObject({ status: 200, body: { version: 1, hash: first.body.hash } });
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const r = await call(method, '/immutable/versions/1', body);
      expectError(r, 405, null, 'method_not_allowed');
      expect(r.headers.get('allow')).toBe('GET');
    }
    const r = await call('DELETE', '/immutable/versions');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST');
    expect((await call('DELETE', '/immutable')).status).toBe(405);
  });

  it('PATCH /{name} changes only the description (audited); PUT and DELETE stay 405', async () => {
    await call('POST', '', { name: 'described', description: 'old' });
    const r = await call('PATCH', '/described', { description: 'new' }, 'patcher');
    expect(r).toMatchObject({ status: 200, body: { object: 'prompt', name: 'described', description: 'new' } });
    expect((await call('GET', '/described')).body.description).toBe('new');
    expectError(await call('PATCH', '/described', { description: 'x', name: 'renamed' }), 400, null);
    expectError(await call('PATCH', '/described', { description: 'x'.repeat(4001) }), 400, 'description');
    expectError(await call('PATCH', '/nope', { description: 'x' }), 404, 'name', 'not_found');
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:described'));
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['prompt.created', 'admin-key'],
      ['prompt.described', 'patcher'],
    ]);
    const put = await call('PUT', '/described', { description: 'y' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, PATCH');
  });

  it('404s for unknown prompts, versions and labels', async () => {
    expectError(await call('GET', '/nope'), 404, 'name', 'not_found');
    expectError(await call('GET', '/nope/versions'), 404, 'name');
    expectError(await call('POST', '/nope/versions', { messages: [{ role: 'user', content: 'x' }] }), 404, 'name');
    expectError(await call('PUT', '/nope/labels/production', { version: 1 }), 404, 'name');
    expectError(await call('GET', '/support/versions/99'), 404, 'version');
    expectError(await call('GET', '/support/resolve?version=99'), 404, 'version');
    expectError(await call('GET', '/support/resolve?label=staging'), 404, 'label');
    expectError(await call('PUT', '/support/labels/staging', { version: 99 }), 404, 'version');
    expectError(await call('POST', '/support/render', { label: 'staging', variables: {} }), 404, 'label');
    await call('POST', '', { name: 'empty' });
    expectError(await call('GET', '/empty/resolve'), 404, 'label');
  });

  it('validates names, labels and bodies with 400s naming the field', async () => {
    expectError(await call('POST', '', { name: 'Has Spaces' }), 400, 'name');
    expectError(await call('POST', '', { name: '-leading' }), 400, 'name');
    expectError(await call('POST', '', { name: 'ok', extra: 1 }), 400, null);
    expectError(await call('POST', '', {}), 400, 'name');
    expectError(await call('POST', '', '{"name": '), 400, null);
    expectError(await call('POST', '', '[]'), 400, null);
    expectError(await call('GET', '/UPPER'), 400, 'name');
    expectError(await call('PUT', '/support/labels/Prod', { version: 1 }), 400, 'label');
    expectError(await call('PUT', '/support/labels/latest', { version: 1 }), 400, 'label');
    expectError(await call('PUT', '/support/labels/staging', { version: 'one' }), 400, 'version');
    expectError(await call('GET', '/support/versions/abc'), 400, 'version');
    expectError(await call('GET', '/support/resolve?label=production&version=1'), 400, 'label');
    expectError(await call('POST', '/support/versions', { messages: [] }), 400, 'messages');
    expectError(await call('POST', '/support/versions', { messages: [{ role: 'robot', content: 'x' }] }), 400, 'messages[0].role');
    expectError(await call('POST', '/support/versions', { messages: [{ role: 'user', content: 'x' }], varibles: {} }), 400, null);
    expectError(await call('POST', '/support/versions', { messages: [{ role: 'user', content: 'Hi {{ first name }}' }] }), 400, 'messages[0].content');
    expectError(await call('POST', '/support/versions', { messages: [{ role: 'user', content: 'x' }], variables: { type: 'array' } }), 400, 'variables.type');
  });

  it('render: a missing or ill-typed variable is a 400 naming it; escapes render literally', async () => {
    expectError(await call('POST', '/support/render', { label: 'production', variables: { company: 'Acme' } }), 400, 'variables.question');
    expectError(await call('POST', '/support/render', { label: 'production', variables: { question: 'q' } }), 400, 'variables.company');
    const typed = await call('POST', '/support/render', { version: 1, variables: { company: 'Acme', question: 42 } });
    expectError(typed, 400, 'variables.question');
    expect(typed.body.error.message).toMatch(/question/);
    await call('POST', '', { name: 'escapes' });
    await call('POST', '/escapes/versions', { messages: [{ role: 'system', content: 'Use \\{{name}} for {{what}}.' }] });
    const r = await call('POST', '/escapes/render', { variables: { what: 'placeholders' } });
    expect(r.body.messages).toEqual([{ role: 'system', content: 'Use {{name}} for placeholders.' }]);
  });

  it("shows a label's split (a rollout in progress) on the prompt and in the list", async () => {
    await call('POST', '', { name: 'rolling' });
    await call('POST', '/rolling/versions', { messages: [{ role: 'system', content: 'one' }] });
    await call('POST', '/rolling/versions', { messages: [{ role: 'system', content: 'two' }] });
    await call('PUT', '/rolling/labels/production', { version: 1 });
    expect((await call('GET', '/rolling')).body.splits).toEqual({});
    await store.setLabelSplit('rolling', 'production', 2, 12.5, 'engine');
    expect((await call('GET', '/rolling')).body).toMatchObject({ labels: { production: 1 }, splits: { production: { version: 2, percent: 12.5 } } });
    const listed = (await call('GET', '')).body.data.find((p: Json) => p.name === 'rolling');
    expect(listed.splits).toEqual({ production: { version: 2, percent: 12.5 } });
    // The label itself still resolves to its own version.
    expect((await call('GET', '/rolling/resolve?label=production')).body.version).toBe(1);
  });
});
