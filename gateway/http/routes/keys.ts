import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { KeyInput, KeyPatch, KeyRecord, KeyStore } from '../../auth/key-store.ts';
import { expiresAtSchema, policyFields, policyOf, policyPatchOf, policyView, teamRefSchema } from '../../auth/policy.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { AppEnv } from '../env.ts';
import { readJsonObject } from '../read-json.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { includesSpend, keyListSpend, spendOf, type SpendLookup } from './spend-view.ts';

export type { SpendLookup } from './spend-view.ts';

export interface KeyRoutesDeps {
  keys: KeyStore;
  /** Without it (no governance store), `spend` is reported as null. */
  spend?: SpendLookup | undefined;
  /** Wall clock, epoch ms (expiry checks, spend periods). */
  clock?: () => number;
}

const keyName = z.string().min(1).max(200);
const scope = z.enum(['inference', 'admin']);

export const createKeySchema = z.strictObject({
  name: keyName,
  scope: scope.default('inference'),
  team: teamRefSchema.optional(),
  ...policyFields,
  expires_at: expiresAtSchema.optional(),
});

export const patchKeySchema = z.strictObject({
  name: keyName.optional(),
  scope: scope.optional(),
  team: teamRefSchema.optional(),
  ...policyFields,
  expires_at: expiresAtSchema.optional(),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `rate_limit_rpm` was never enforced and is gone; a client still sending it is told where it went. */
function refuseOldFields(body: Record<string, unknown>): void {
  if (Object.hasOwn(body, 'rate_limit_rpm')) {
    throw new GatewayError('invalid_request', "'rate_limit_rpm' is no longer accepted: use 'rate_limits.rpm' (requests per minute, enforced).", {
      param: 'rate_limit_rpm',
    });
  }
}

/** A validated POST body as the store takes it; a 400 when `expires_at` is not in the future. */
export function keyInputOf(body: z.output<typeof createKeySchema>, now: number): KeyInput {
  if (body.expires_at && body.expires_at.getTime() <= now) {
    throw new GatewayError('invalid_request', "Invalid value for 'expires_at': it must be in the future.", { param: 'expires_at' });
  }
  return {
    name: body.name,
    scope: body.scope,
    ...(body.team === undefined ? {} : { team: body.team }),
    ...(body.expires_at === undefined ? {} : { expiresAt: body.expires_at }),
    ...policyPatchOf(body),
  };
}

function keyPatchOf(body: z.output<typeof patchKeySchema>): KeyPatch {
  return {
    ...(body.name === undefined ? {} : { name: body.name }),
    ...(body.scope === undefined ? {} : { scope: body.scope }),
    ...(body.team === undefined ? {} : { team: body.team }),
    ...(body.expires_at === undefined ? {} : { expiresAt: body.expires_at }),
    ...policyPatchOf(body),
  };
}

/** The JSON view of a key: never the secret or its hash. */
export function keyView(k: KeyRecord) {
  return {
    id: k.id,
    object: 'api_key' as const,
    name: k.name,
    prefix: k.prefix,
    scope: k.scope,
    team: k.team,
    ...policyView(k),
    expires_at: k.expiresAt?.toISOString() ?? null,
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt.toISOString(),
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}

/** Who the audit log names for a change made through the admin API. */
export const actorOf = (c: Context<AppEnv>): string => c.get('key').id ?? c.get('key').name;

const notFound = (id: string) => new GatewayError('not_found', `No API key with id '${id.slice(0, 64)}'.`, { param: 'id' });

/** Admin API for gateway keys (DESIGN §4.4): mint (the secret is shown once), list, get with spend, patch, revoke. */
export function keyRoutes(deps: KeyRoutesDeps): Hono<AppEnv> {
  const { keys } = deps;
  const clock = deps.clock ?? Date.now;
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = await readJsonObject(c);
    refuseOldFields(body);
    const input = keyInputOf(validate(createKeySchema, body), clock());
    const minted = await keys.mint(input, actorOf(c));
    return c.json({ ...keyView(minted.row), key: minted.key }, 201);
  });

  app.get('/', async (c) => {
    const list = await keys.list();
    const spend = includesSpend(c) ? await keyListSpend(deps.spend, list, await keys.listTeams(), new Date(clock())) : undefined;
    return c.json({ object: 'list', data: list.map((k, i) => (spend === undefined ? keyView(k) : { ...keyView(k), spend: spend && (spend[i] ?? null) })) });
  });

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    const key = UUID.test(id) ? await keys.get(id) : undefined;
    if (!key) throw notFound(id);
    const team = key.team ? await keys.getTeam(key.team.id) : undefined;
    const now = new Date(clock());
    const spent = await spendOf(
      deps.spend,
      [{ subject: `key:${key.id}`, policy: policyOf(key) }, team ? { subject: `team:${team.id}`, policy: policyOf(team) } : null],
      now,
    );
    return c.json({ ...keyView(key), spend: spent && { key: spent[0] ?? null, team: spent[1] ?? null } });
  });

  app.patch('/:id', async (c) => {
    const id = c.req.param('id');
    const body = await readJsonObject(c);
    refuseOldFields(body);
    const patch = keyPatchOf(validate(patchKeySchema, body));
    const key = UUID.test(id) ? await keys.update(id, patch, actorOf(c)) : undefined;
    if (!key) throw new GatewayError('not_found', `No unrevoked API key with id '${id.slice(0, 64)}'.`, { param: 'id' });
    return c.json(keyView(key));
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    const row = UUID.test(id) ? await keys.revoke(id, actorOf(c)) : undefined;
    if (!row) throw notFound(id);
    return c.json({ ...keyView(row), deleted: true });
  });

  methodNotAllowed(app, ['/'], 'GET, POST');
  methodNotAllowed(app, ['/:id'], 'GET, PATCH, DELETE');
  return app;
}
