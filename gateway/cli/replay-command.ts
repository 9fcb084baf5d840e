import { randomBytes } from 'node:crypto';
import { getCall } from '../calls/queries.ts';
import type { SluiceEnv } from '../config/env.ts';
import { loadConfig } from '../config/load.ts';
import { silentLogger } from '../logger.ts';
import { composeGateway } from '../server.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { ServerRequestError } from './server-client.ts';

const ENDPOINT_PATHS: Record<string, string> = {
  'chat.completions': '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
  responses: '/v1/responses',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface LoggedCall {
  endpoint: string;
  /** `face_request`: the client's own body when `request` is what the gateway made of it. */
  payload?: { request?: unknown; face_request?: unknown } | null;
}

/** The body to send again: as the client sent it to the face it came from. */
function replayBody(call: LoggedCall): unknown {
  return call.payload?.face_request ?? call.payload?.request;
}

/**
 * `sluice replay <call-id>`: the logged request, sent again through the gateway: the running
 * server that owns the data directory, else one built in-process on the database.
 */
export async function replayCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const [callId, ...extra] = argv;
  if (!callId || extra.length > 0 || !UUID.test(callId)) {
    io.err(`usage: sluice replay <call-id>${callId && !UUID.test(callId) ? ` ('${callId.slice(0, 100)}' is not a call id)` : ''}\n`);
    return 2;
  }
  const send = async (call: LoggedCall | null, base: string, fetchApp: (req: Request) => Promise<Response>, key: string): Promise<number> => {
    if (!call || !replayBody(call)) {
      io.err(`sluice: no logged request for call ${callId}\n`);
      return 1;
    }
    const res = await fetchApp(
      new Request(`${base}${ENDPOINT_PATHS[call.endpoint] ?? '/v1/chat/completions'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(replayBody(call)),
      }),
    );
    io.out(`${await res.text()}\n`);
    io.err(`replayed ${callId} as ${res.headers.get('x-sluice-call-id') ?? '?'} (HTTP ${res.status})\n`);
    return res.ok ? 0 : 1;
  };

  const access = await dataAccess(env, 'replay');
  if (access.kind === 'server') {
    const { server } = access;
    io.err(throughServerNote(server));
    let call: LoggedCall | null = null;
    try {
      call = await server.request<LoggedCall>('GET', `/api/calls/${callId}`);
    } catch (err) {
      if (!(err instanceof ServerRequestError && err.status === 404)) throw err;
    }
    return send(call, server.server.url, (req) => fetch(req), server.server.token);
  }
  return access.withDatabase(async (database) => {
    const call = await getCall(database, callId);
    const key = `sk-sluice-replay-${randomBytes(16).toString('hex')}`;
    if (!call || !replayBody(call)) return send(call, '', () => Promise.reject(new Error('unreachable')), key);
    const gateway = await composeGateway({ config: loadConfig(env.vars), database, env, logger: silentLogger, adminKey: key });
    try {
      return await send(call, 'http://sluice.local', (req) => Promise.resolve(gateway.app.fetch(req)), key);
    } finally {
      await gateway.close();
    }
  });
}
