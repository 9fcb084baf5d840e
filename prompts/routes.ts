import { Hono, type Context, type Env } from 'hono';
import { parseJsonObject } from '../core/json-object.ts';
import { z } from 'zod';
import { contentInputSchema, checkName, normalizeContent, parseOrThrow } from './content.ts';
import { diffVersions } from './diff.ts';
import { PromptError } from './errors.ts';
import { renderMessages } from './render.ts';
import type { PromptStore } from './store.ts';
import type { JsonObject, PromptRef } from './types.ts';
import { promptView, versionView } from './views.ts';

export interface PromptRoutesDeps<E extends Env = Env> {
  store: PromptStore;
  /** Who is making the change (the admin key's id or name), for the audit log. */
  actor: (c: Context<E>) => string;
}

const createBody = z.strictObject({ name: z.string(), description: z.string().max(4000).nullish() });
const versionBody = z.strictObject({ ...contentInputSchema.shape, message: z.string().max(4000).nullish() });
const describeBody = z.strictObject({ description: z.string().max(4000).nullable() });
const labelBody = z.strictObject({ version: z.number().int().positive() });
const renderBody = z.strictObject({
  label: z.string().optional(),
  version: z.number().int().positive().optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The prompt registry API, DESIGN §4.2. The gateway mounts it at /api/prompts behind admin
 * auth. Every failure is a PromptError, rendered by the app's onError.
 */
export function promptRoutes<E extends Env = Env>(deps: PromptRoutesDeps<E>): Hono<E> {
  const { store } = deps;
  const app = new Hono<E>();

  app.post('/', async (c) => {
    const body = parseOrThrow(createBody, await readJson(c));
    const created = await store.createPrompt(checkName(body.name, 'name'), body.description ?? null, deps.actor(c));
    return c.json(promptView(created), 201);
  });
  app.get('/', async (c) => c.json({ object: 'list', data: (await store.listPrompts()).map(promptView) }));
  app.get('/:name', async (c) => c.json(promptView(await store.getPrompt(nameParam(c)))));
  // The description is the one mutable field of a prompt (audited); `sluice prompts push` sets it.
  app.patch('/:name', async (c) => {
    const name = nameParam(c);
    const body = parseOrThrow(describeBody, await readJson(c));
    await store.setDescription(name, body.description, deps.actor(c));
    return c.json(promptView(await store.getPrompt(name)));
  });

  // 201 with a new version; 200 with the latest when the content is identical to it.
  app.post('/:name/versions', async (c) => {
    const name = nameParam(c);
    const body = parseOrThrow(versionBody, await readJson(c));
    const result = await store.createVersion(name, normalizeContent(body), deps.actor(c), body.message ?? null);
    return c.json({ version: result.version.version, hash: result.version.hash }, result.created ? 201 : 200);
  });
  app.get('/:name/versions', async (c) => {
    const name = nameParam(c);
    const [versions, heads] = await Promise.all([store.listVersions(name), store.heads(name)]);
    return c.json({ object: 'list', data: versions.map((v) => versionView(v, heads)) });
  });
  app.get('/:name/versions/:version', async (c) => {
    const name = nameParam(c);
    const version = await store.getVersion(name, versionNumber(c.req.param('version'), 'version'));
    return c.json(versionView(version, await store.heads(name)));
  });
  notAllowed(app, '/:name/versions/:version', ['POST', 'PUT', 'PATCH', 'DELETE'], 'GET', 'Prompt versions are immutable');
  notAllowed(app, '/:name/versions', ['PUT', 'PATCH', 'DELETE'], 'GET, POST', 'Prompt versions are immutable');
  notAllowed(app, '/:name', ['PUT', 'DELETE'], 'GET, PATCH', 'Prompts are changed through their description, versions and labels');

  app.get('/:name/resolve', async (c) => {
    const name = nameParam(c);
    const version = await store.resolve(name, refFrom(c.req.query('label'), c.req.query('version')));
    return c.json(versionView(version, await store.heads(name)));
  });
  app.put('/:name/labels/:label', async (c) => {
    const name = nameParam(c);
    const label = c.req.param('label');
    const body = parseOrThrow(labelBody, await readJson(c));
    const moved = await store.moveLabel(name, label, body.version, deps.actor(c));
    return c.json({ object: 'prompt.label', prompt: name, label, version: moved.version, previous_version: moved.previous });
  });
  app.post('/:name/render', async (c) => {
    const name = nameParam(c);
    const body = parseOrThrow(renderBody, await readJson(c));
    const ref = refFrom(body.label, body.version === undefined ? undefined : String(body.version));
    const version = await store.resolve(name, ref);
    return c.json({ prompt: name, version: version.version, messages: renderMessages(version, body.variables ?? {}) });
  });
  app.get('/:name/diff', async (c) => {
    const name = nameParam(c);
    const to = await store.resolve(name, versionOrLabel(c.req.query('to'), 'to'));
    const fromRaw = c.req.query('from');
    if (fromRaw === undefined && to.version === 1) throw new PromptError('invalid_request', `Version 1 has no predecessor; pass ?from=.`, 'from');
    const from = await store.resolve(name, fromRaw === undefined ? { version: to.version - 1 } : versionOrLabel(fromRaw, 'from'));
    return c.json(diffVersions(from, to));
  });
  return app;
}

function notAllowed<E extends Env>(app: Hono<E>, path: string, methods: string[], allow: string, why: string): void {
  app.on(methods, path, (c) => {
    c.header('allow', allow);
    throw new PromptError('method_not_allowed', `${why}: ${c.req.method} is not allowed on ${c.req.path}; use ${allow}.`);
  });
}

async function readJson(c: Context): Promise<JsonObject> {
  const parsed = parseJsonObject(await c.req.text());
  if (!parsed.ok) throw new PromptError('invalid_request', parsed.message);
  return parsed.value as JsonObject;
}

function nameParam(c: Context): string {
  return checkName(c.req.param('name') ?? '', 'name');
}

function versionNumber(raw: string, param: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new PromptError('invalid_request', `'${param}' must be a positive integer version number.`, param);
  return Number(raw);
}

/** `?label=` or `?version=` (not both); neither means `latest`. */
function refFrom(label: string | undefined, version: string | undefined): PromptRef {
  if (label !== undefined && version !== undefined) throw new PromptError('invalid_request', `Pass either 'label' or 'version', not both.`, 'label');
  if (version !== undefined) return { version: versionNumber(version, 'version') };
  if (label === undefined || label === 'latest') return { label: 'latest' };
  return { label: checkName(label, 'label', 'label') };
}

/** A diff end: a version number, or a label (`latest` by default). */
function versionOrLabel(raw: string | undefined, param: string): PromptRef {
  if (raw === undefined || raw === 'latest') return { label: 'latest' };
  if (/^[0-9]+$/.test(raw)) return { version: versionNumber(raw, param) };
  return { label: checkName(raw, param, 'label') };
}
