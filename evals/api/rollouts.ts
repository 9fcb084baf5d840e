import { Hono } from 'hono';
import type { AppEnv } from '../../gateway/http/env.ts';
import { readJsonObject } from '../../gateway/http/read-json.ts';
import { checkName } from '../../prompts/index.ts';
import type { Rollouts } from '../rollout/rollouts.ts';

const actorOf = (c: { get(key: 'key'): { id: string | null; name: string } }) => c.get('key').id ?? c.get('key').name;

/** `PUT|GET|DELETE /api/routes/{name}/rollout` (DESIGN §4.6), mounted at /api/routes. */
export function routeRolloutRoutes(rollouts: Rollouts): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.put('/:name/rollout', async (c) => c.json(await rollouts.startRoute(c.req.param('name'), await readJsonObject(c), actorOf(c))));
  app.get('/:name/rollout', async (c) => c.json(await rollouts.get('route', c.req.param('name'))));
  app.delete('/:name/rollout', async (c) => c.json(await rollouts.abort('route', c.req.param('name'), actorOf(c))));
  return app;
}

/** `PUT|GET|DELETE /api/prompts/{name}/labels/{label}/rollout` (DESIGN §4.6), mounted at /api/prompts. */
export function promptRolloutRoutes(rollouts: Rollouts): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const target = (name: string, label: string) => {
    checkName(name, 'name');
    checkName(label, 'label', 'label');
    return `${name}@${label}`;
  };
  app.put('/:name/labels/:label/rollout', async (c) => {
    const { name, label } = c.req.param();
    target(name, label);
    return c.json(await rollouts.startPrompt(name, label, await readJsonObject(c), actorOf(c)));
  });
  app.get('/:name/labels/:label/rollout', async (c) => c.json(await rollouts.get('prompt', target(c.req.param('name'), c.req.param('label')))));
  app.delete('/:name/labels/:label/rollout', async (c) => c.json(await rollouts.abort('prompt', target(c.req.param('name'), c.req.param('label')), actorOf(c))));
  return app;
}
