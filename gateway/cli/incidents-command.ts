import { parseArgs } from 'node:util';
import { incidentRoutes } from '../../evals/index.ts';
import type { SluiceEnv } from '../config/env.ts';
import { errorHandler } from '../http/error-handler.ts';
import { silentLogger } from '../logger.ts';
import type { Database } from '../db/client.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { ServerRequestError, type ServerClient } from './server-client.ts';

export const INCIDENTS_USAGE = `usage: sluice incidents [--status open|resolved]   (newest first)
       sluice incidents ack ID
       sluice incidents resolve ID`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = new Set(['open', 'resolved']);

interface IncidentView {
  id: string;
  monitor: string;
  metric: string;
  value: number;
  baseline: number | null;
  status: string;
  opened_at: string;
  resolved_at: string | null;
}

/** GET/POST on the incident API: through the owning server, or the same routes in-process on the database. */
type Call = <T>(method: 'GET' | 'POST', path: string) => Promise<T>;

function throughServer(server: ServerClient): Call {
  return (method, path) => server.request(method, `/api${path}`);
}

function inProcess(database: Database): Call {
  const app = incidentRoutes({ database, clock: Date.now });
  app.onError(errorHandler(silentLogger)); // errors as the server shapes them (404, 409)
  return async <T>(method: 'GET' | 'POST', path: string) => {
    const rest = path.slice('/incidents'.length);
    const res = await app.request(rest === '' || rest.startsWith('?') ? `/${rest}` : rest, { method });
    const body = (await res.json()) as T & { error?: { message?: string } };
    if (!res.ok) throw new ServerRequestError(res.status, body.error?.message ?? `HTTP ${res.status}`, null);
    return body;
  };
}

const when = (iso: string | null): string => (iso === null ? '-' : iso.slice(0, 16).replace('T', ' '));
const num = (v: number | null): string => (v === null ? '-' : Number(v.toPrecision(4)).toString());

function table(list: readonly IncidentView[]): string {
  const rows = [
    ['id', 'monitor', 'metric', 'value', 'bound', 'status', 'opened', 'resolved'],
    ...list.map((i) => [i.id, i.monitor, i.metric, num(i.value), num(i.baseline), i.status, when(i.opened_at), when(i.resolved_at)]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** `sluice incidents [--status S]`, `sluice incidents ack|resolve ID`. Returns the exit code. */
export async function incidentsCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { status: { type: 'string' } } });
  } catch (err) {
    io.err(`sluice incidents: ${(err as Error).message}\n${INCIDENTS_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, id, ...extra] = positionals;
  const problem =
    action === undefined
      ? values.status !== undefined && !STATUSES.has(values.status)
        ? '--status must be open or resolved'
        : null
      : action !== 'ack' && action !== 'resolve'
        ? `unknown action '${action.slice(0, 100)}'`
        : id === undefined || extra.length > 0 || values.status !== undefined
          ? 'give exactly one incident id'
          : !UUID.test(id)
            ? `'${id.slice(0, 100)}' is not an incident id (a UUID, as \`sluice incidents\` shows)`
            : null;
  if (problem !== null) {
    io.err(`sluice incidents: ${problem}\n${INCIDENTS_USAGE}\n`);
    return 2;
  }
  const access = await dataAccess(env, `incidents${action ? ` ${action}` : ''}`);
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return run(throughServer(access.server));
  }
  return access.withDatabase((database) => run(inProcess(database)));

  async function run(call: Call): Promise<number> {
    if (action === undefined) {
      const { data } = await call<{ data: IncidentView[] }>('GET', `/incidents${values.status ? `?status=${values.status}` : ''}`);
      io.out(data.length === 0 ? `no ${values.status ?? ''} incidents\n`.replace('  ', ' ') : table(data));
      return 0;
    }
    try {
      const done = await call<IncidentView>('POST', `/incidents/${id!.toLowerCase()}/${action}`);
      io.out(`${done.id} is ${action === 'ack' ? 'acknowledged' : done.status} (monitor ${done.monitor})\n`);
      return 0;
    } catch (err) {
      if (err instanceof ServerRequestError && (err.status === 404 || err.status === 409)) {
        io.err(`sluice incidents: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  }
}
