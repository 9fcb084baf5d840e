import { Hono } from 'hono';
import { z } from 'zod';
import type { KeyStore, TeamPatch } from '../../auth/key-store.ts';
import { policyFields, policyOf, policyPatchOf, policyView } from '../../auth/policy.ts';
import type { TeamRow } from '../../auth/schema.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { AppEnv } from '../env.ts';
import { readJsonObject } from '../read-json.ts';
import { actorOf } from './keys.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { includesSpend, spendOf, teamListSpend, type SpendLookup } from './spend-view.ts';

export interface TeamRoutesDeps {
  keys: KeyStore;
  /** Without it (no governance store), `spend` is reported as null. */
  spend?: SpendLookup | undefined;
  /** Wall clock, epoch ms (spend periods). */
  clock?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** URL- and shell-safe, and never UUID-shaped: a team is named by its id or its name alike (`--team`, `/api/teams/{id}`). */
const teamName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a team name is letters, digits, . _ and -, starting with a letter or digit')
  .refine((s) => !UUID.test(s), 'a team name may not look like a team id (a UUID)');

const createTeamSchema = z.strictObject({ name: teamName, ...policyFields });
const patchTeamSchema = z.strictObject({ name: teamName.optional(), ...policyFields });

export function teamView(t: TeamRow) {
  return {
    id: t.id,
    object: 'team' as const,
    name: t.name,
    ...policyView(t),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}

const notFound = (ref: string) => new GatewayError('not_found', `No team '${ref.slice(0, 200)}'.`, { param: 'id' });

/** Admin API for teams (DESIGN §4.4): a budget, limits and allow-lists shared by their keys. `{id}` is a team's id or name. */
export function teamRoutes(deps: TeamRoutesDeps): Hono<AppEnv> {
  const { keys } = deps;
  const clock = deps.clock ?? Date.now;
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = validate(createTeamSchema, await readJsonObject(c));
    const team = await keys.createTeam({ name: body.name, ...policyPatchOf(body) }, actorOf(c));
    return c.json(teamView(team), 201);
  });

  app.get('/', async (c) => {
    const list = await keys.listTeams();
    const spend = includesSpend(c) ? await teamListSpend(deps.spend, list, new Date(clock())) : undefined;
    return c.json({ object: 'list', data: list.map((t, i) => (spend === undefined ? teamView(t) : { ...teamView(t), spend: spend?.[i] ?? null })) });
  });

  app.get('/:id', async (c) => {
    const ref = c.req.param('id');
    const team = await keys.getTeam(ref);
    if (!team) throw notFound(ref);
    const [spent] = (await spendOf(deps.spend, [{ subject: `team:${team.id}`, policy: policyOf(team) }], new Date(clock()))) ?? [null];
    return c.json({ ...teamView(team), key_count: team.keyCount, spend: spent ?? null });
  });

  app.patch('/:id', async (c) => {
    const ref = c.req.param('id');
    const body = validate(patchTeamSchema, await readJsonObject(c));
    const patch: TeamPatch = { ...(body.name === undefined ? {} : { name: body.name }), ...policyPatchOf(body) };
    const team = await keys.updateTeam(ref, patch, actorOf(c));
    if (!team) throw notFound(ref);
    return c.json(teamView(team));
  });

  app.delete('/:id', async (c) => {
    const ref = c.req.param('id');
    const team = await keys.deleteTeam(ref, actorOf(c));
    if (!team) throw notFound(ref);
    return c.json({ ...teamView(team), deleted: true });
  });

  methodNotAllowed(app, ['/'], 'GET, POST');
  methodNotAllowed(app, ['/:id'], 'GET, PATCH, DELETE');
  return app;
}
