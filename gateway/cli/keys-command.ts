import { parseArgs } from 'node:util';
import { KeyStore } from '../auth/key-store.ts';
import type { SluiceEnv } from '../config/env.ts';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { createKeySchema, keyInputOf, keyView } from '../http/routes/keys.ts';
import { validate } from '../pipeline/validate.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { ServerRequestError, type ServerClient } from './server-client.ts';

export const KEYS_USAGE = `usage: sluice keys create --name NAME [--scope inference|admin] [--team TEAM] [--budget USD/PERIOD]
                         [--rpm N] [--tpm N] [--models GLOB,...] [--prompts GLOB,...] [--expires ISO-TIME]
                         (prints the new key once; PERIOD: day|week|month|total, e.g. --budget 25/month)
       sluice keys list
       sluice keys revoke ID`;

/** A key as /api/keys shows it: never the secret. */
type KeyView = ReturnType<typeof keyView>;

/** The three key operations, on the database or through the owning server. */
interface KeyAdmin {
  /** `body` is a POST /api/keys body, already validated. */
  create(body: Record<string, unknown>): Promise<KeyView & { key: string }>;
  list(): Promise<KeyView[]>;
  /** Null when there is no unrevoked key with that id. */
  revoke(id: string): Promise<KeyView | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 200;

function directKeys(database: Database, actor: string): KeyAdmin {
  // Never started: no polling, just the tables. Changes NOTIFY, so Postgres servers see them at once.
  const store = new KeyStore(database, {});
  return {
    async create(body) {
      const minted = await store.mint(keyInputOf(validate(createKeySchema, body), Date.now()), actor);
      return { ...keyView(minted.row), key: minted.key };
    },
    list: async () => (await store.list()).map(keyView),
    async revoke(id) {
      const row = await store.revoke(id, actor);
      return row ? keyView(row) : null;
    },
  };
}

function serverKeys(server: ServerClient): KeyAdmin {
  return {
    create: (body) => server.request('POST', '/api/keys', body),
    list: async () => (await server.request<{ data: KeyView[] }>('GET', '/api/keys')).data,
    async revoke(id) {
      try {
        return await server.request<KeyView>('DELETE', `/api/keys/${id}`);
      } catch (err) {
        if (err instanceof ServerRequestError && err.status === 404) return null;
        throw err;
      }
    },
  };
}

const OPTIONS = {
  name: { type: 'string' },
  scope: { type: 'string' },
  team: { type: 'string' },
  budget: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  models: { type: 'string' },
  prompts: { type: 'string' },
  expires: { type: 'string' },
} as const;

type Flags = { [K in keyof typeof OPTIONS]?: string | undefined };

/** Which flag a body field comes from, for messages. */
const FLAG_OF: Record<string, string> = {
  name: '--name',
  scope: '--scope',
  team: '--team',
  budget: '--budget',
  rate_limits: '--rpm/--tpm',
  'rate_limits.rpm': '--rpm',
  'rate_limits.tpm': '--tpm',
  models: '--models',
  prompts: '--prompts',
  expires_at: '--expires',
};

const BUDGET = /^\$?(\d+(?:\.\d+)?)\/(day|week|month|total)$/;
const globs = (s: string) =>
  s
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');

/** The POST /api/keys body the flags make (checked by the same schema as the API), or the problem with them. */
function createBody(v: Flags): { body: Record<string, unknown> } | { problem: string } {
  if (!v.name || v.name.trim() === '') return { problem: '--name is required' };
  if (v.name.length > MAX_NAME) return { problem: `--name must be at most ${MAX_NAME} characters` };
  if (v.scope !== undefined && v.scope !== 'inference' && v.scope !== 'admin') return { problem: '--scope must be inference or admin' };
  const body: Record<string, unknown> = { name: v.name, scope: v.scope ?? 'inference' };
  if (v.team !== undefined) body.team = v.team;
  if (v.budget !== undefined) {
    const m = BUDGET.exec(v.budget.trim());
    if (!m) return { problem: '--budget must be USD/PERIOD, e.g. 25/month (PERIOD: day, week, month or total)' };
    body.budget = { usd: Number(m[1]), period: m[2] };
  }
  const limits: Record<string, number> = {};
  for (const flag of ['rpm', 'tpm'] as const) {
    const text = v[flag];
    if (text === undefined) continue;
    if (!/^\d+$/.test(text.trim())) return { problem: `--${flag} must be a whole number` };
    limits[flag] = Number(text.trim());
  }
  if (Object.keys(limits).length > 0) body.rate_limits = limits;
  if (v.models !== undefined) body.models = globs(v.models);
  if (v.prompts !== undefined) body.prompts = globs(v.prompts);
  if (v.expires !== undefined) body.expires_at = v.expires.trim();
  try {
    keyInputOf(validate(createKeySchema, body), Date.now());
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    const param = err.param ?? '';
    const flag = FLAG_OF[param] ?? FLAG_OF[param.split(/[.[]/)[0]!] ?? 'a flag';
    return { problem: `${flag}: ${err.message}` };
  }
  return { body };
}

const when = (iso: string | null): string => (iso === null ? '-' : iso.slice(0, 16).replace('T', ' '));
const budgetText = (k: KeyView): string => (k.budget ? `$${k.budget.usd}/${k.budget.period}` : '-');
function limitsText(k: KeyView): string {
  const parts = [k.rate_limits.rpm === null ? null : `rpm=${k.rate_limits.rpm}`, k.rate_limits.tpm === null ? null : `tpm=${k.rate_limits.tpm}`].filter((p) => p !== null);
  return parts.length === 0 ? '-' : parts.join(',');
}

function table(keys: readonly KeyView[]): string {
  const rows = [
    ['id', 'name', 'scope', 'prefix', 'team', 'budget', 'limits', 'expires', 'created', 'last used', 'revoked'],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.scope,
      k.prefix,
      k.team?.name ?? '-',
      budgetText(k),
      limitsText(k),
      when(k.expires_at),
      when(k.created_at),
      when(k.last_used_at),
      when(k.revoked_at),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** `; team support, budget $25/month, rpm=60` — what limits the new key, if anything. */
function policySummary(k: KeyView): string {
  const parts = [
    k.team ? `team ${k.team.name}` : null,
    k.budget ? `budget ${budgetText(k)}` : null,
    limitsText(k) === '-' ? null : limitsText(k),
    k.models ? `models ${k.models.join(',') || '(none)'}` : null,
    k.prompts ? `prompts ${k.prompts.join(',') || '(none)'}` : null,
    k.expires_at ? `expires ${k.expires_at}` : null,
  ].filter((p) => p !== null);
  return parts.length === 0 ? '' : `; ${parts.join(', ')}`;
}

/** `sluice keys create|list|revoke`; `argv` follows `keys`. Returns the exit code. */
export async function keysCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    io.err(`sluice keys: ${(err as Error).message}\n${KEYS_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const anyFlag = Object.keys(values).length > 0;
  let body: Record<string, unknown> = {};
  let problem: string | null = null;
  if (action === 'create') {
    const made = positionals.length > 0 ? { problem: `unexpected argument '${positionals[0]!.slice(0, 100)}'` } : createBody(values);
    if ('problem' in made) problem = made.problem;
    else body = made.body;
  } else if (action === 'list') {
    if (positionals.length > 0 || anyFlag) problem = 'keys list takes no arguments';
  } else if (action === 'revoke') {
    if (positionals.length !== 1 || anyFlag) problem = 'give exactly one key id';
    else if (!UUID.test(positionals[0]!)) problem = `'${positionals[0]!.slice(0, 100)}' is not a key id (a UUID, as \`sluice keys list\` shows)`;
  } else {
    problem = `unknown action '${(action ?? '').slice(0, 100)}'`;
  }
  if (problem !== null) {
    io.err(`sluice keys: ${problem}\n${KEYS_USAGE}\n`);
    return 2;
  }
  const access = await dataAccess(env, `keys ${action}`);
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return run(serverKeys(access.server));
  }
  const actor = env.USER ? `cli:${env.USER}` : 'cli';
  return access.withDatabase(async (database) => {
    try {
      return await run(directKeys(database, actor));
    } catch (err) {
      // What the server would answer 4xx to (an unknown team): the same message, exit 1.
      if (err instanceof GatewayError && err.status < 500) {
        io.err(`sluice keys: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  });

  async function run(keys: KeyAdmin): Promise<number> {
    if (action === 'create') {
      const made = await keys.create(body);
      // The key alone on stdout, so `KEY=$(npx sluice keys create --name x)` works.
      io.out(`${made.key}\n`);
      io.err(
        `created ${made.scope} key '${made.name}' (id ${made.id}, prefix ${made.prefix})${policySummary(made)}; the key above is shown only this once, so store it now\n`,
      );
      return 0;
    }
    if (action === 'list') {
      const all = await keys.list();
      io.out(all.length === 0 ? 'no keys yet: create one with `npx sluice keys create --name NAME`\n' : table(all));
      return 0;
    }
    const id = positionals[0]!.toLowerCase();
    const revoked = await keys.revoke(id);
    if (!revoked) {
      io.err(`sluice keys: no unrevoked key with id ${id}\n`);
      return 1;
    }
    io.out(`revoked key ${revoked.id} ('${revoked.name}')\n`);
    return 0;
  }
}
