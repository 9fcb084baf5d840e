import { parseArgs } from 'node:util';
import { KeyStore } from '../auth/key-store.ts';
import type { ApiKeyRow, KeyScope } from '../auth/schema.ts';
import type { SluiceEnv } from '../config/env.ts';
import type { Database } from '../db/client.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { ServerRequestError, type ServerClient } from './server-client.ts';

export const KEYS_USAGE = `usage: sluice keys create --name NAME [--scope inference|admin]   (prints the new key once)
       sluice keys list
       sluice keys revoke ID`;

/** A key as /api/keys shows it: never the secret. */
interface KeyView {
  id: string;
  name: string;
  scope: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The three key operations, on the database or through the owning server. */
interface KeyAdmin {
  create(name: string, scope: KeyScope): Promise<KeyView & { key: string }>;
  list(): Promise<KeyView[]>;
  /** Null when there is no unrevoked key with that id. */
  revoke(id: string): Promise<KeyView | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 200;

function view(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    prefix: row.prefix,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}

function directKeys(database: Database): KeyAdmin {
  // Never started: no polling, just the table. mint/revoke NOTIFY, so Postgres servers see them at once.
  const store = new KeyStore(database, {});
  return {
    async create(name, scope) {
      const minted = await store.mint({ name, scope });
      return { ...view(minted.row), key: minted.key };
    },
    list: async () => (await store.list()).map(view),
    async revoke(id) {
      const row = await store.revoke(id);
      return row ? view(row) : null;
    },
  };
}

function serverKeys(server: ServerClient): KeyAdmin {
  return {
    create: (name, scope) => server.request('POST', '/api/keys', { name, scope }),
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

const when = (iso: string | null): string => (iso === null ? '-' : iso.slice(0, 16).replace('T', ' '));

function table(keys: readonly KeyView[]): string {
  const rows = [
    ['id', 'name', 'scope', 'prefix', 'created', 'last used', 'revoked'],
    ...keys.map((k) => [k.id, k.name, k.scope, k.prefix, when(k.created_at), when(k.last_used_at), when(k.revoked_at)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** `sluice keys create|list|revoke`; `argv` follows `keys`. Returns the exit code. */
export async function keysCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: 'string' }, scope: { type: 'string' } } });
  } catch (err) {
    io.err(`sluice keys: ${(err as Error).message}\n${KEYS_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const problem =
    action === 'create'
      ? positionals.length > 0
        ? `unexpected argument '${positionals[0]!.slice(0, 100)}'`
        : !values.name || values.name.trim() === ''
          ? '--name is required'
          : values.name.length > MAX_NAME
            ? `--name must be at most ${MAX_NAME} characters`
            : values.scope !== undefined && values.scope !== 'inference' && values.scope !== 'admin'
              ? '--scope must be inference or admin'
              : null
      : action === 'list'
        ? positionals.length > 0 || values.name !== undefined || values.scope !== undefined
          ? 'keys list takes no arguments'
          : null
        : action === 'revoke'
          ? positionals.length !== 1 || values.name !== undefined || values.scope !== undefined
            ? 'give exactly one key id'
            : !UUID.test(positionals[0]!)
              ? `'${positionals[0]!.slice(0, 100)}' is not a key id (a UUID, as \`sluice keys list\` shows)`
              : null
          : `unknown action '${(action ?? '').slice(0, 100)}'`;
  if (problem !== null) {
    io.err(`sluice keys: ${problem}\n${KEYS_USAGE}\n`);
    return 2;
  }
  const access = await dataAccess(env, `keys ${action}`);
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return run(serverKeys(access.server));
  }
  return access.withDatabase((database) => run(directKeys(database)));

  async function run(keys: KeyAdmin): Promise<number> {
    if (action === 'create') {
      const scope = (values.scope ?? 'inference') as KeyScope;
      const made = await keys.create(values.name!, scope);
      // The key alone on stdout, so `KEY=$(npx sluice keys create --name x)` works.
      io.out(`${made.key}\n`);
      io.err(`created ${made.scope} key '${made.name}' (id ${made.id}, prefix ${made.prefix}); the key above is shown only this once, so store it now\n`);
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
