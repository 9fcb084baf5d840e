import { Hono } from 'hono';
import { z } from 'zod';
import type { KeyStore } from '../../auth/key-store.ts';
import type { ApiKeyRow } from '../../auth/schema.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { AppEnv } from '../env.ts';
import { readJsonObject } from '../read-json.ts';

const mintSchema = z.strictObject({
  name: z.string().min(1).max(200),
  scope: z.enum(['inference', 'admin']).default('inference'),
  rate_limit_rpm: z.number().int().positive().optional(),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function view(row: ApiKeyRow) {
  return {
    id: row.id,
    object: 'api_key' as const,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope,
    rate_limit_rpm: row.rateLimitRpm,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}

/** Admin API for gateway keys: mint (the secret is shown once), list, revoke. */
export function keyRoutes(keys: KeyStore): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const input = validate(mintSchema, await readJsonObject(c));
    const minted = await keys.mint({ name: input.name, scope: input.scope, rateLimitRpm: input.rate_limit_rpm });
    return c.json({ ...view(minted.row), key: minted.key }, 201);
  });
  app.get('/', async (c) => c.json({ object: 'list', data: (await keys.list()).map(view) }));
  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    const row = UUID.test(id) ? await keys.revoke(id) : undefined;
    if (!row) throw new GatewayError('not_found', `No API key with id '${id.slice(0, 64)}'.`, { param: 'id' });
    return c.json({ ...view(row), deleted: true });
  });
  return app;
}
