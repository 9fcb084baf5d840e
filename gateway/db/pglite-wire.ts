import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * PGlite served over the Postgres wire protocol on a unix socket, for several clients at once.
 *
 * PGlite is one single-user backend: its session (unnamed statement and portal, the error
 * state that skips messages until Sync, the open transaction) is shared by every client. So a
 * client owns the backend from its first message until it is back at a Sync (or simple Query)
 * outside a transaction; the other clients' messages wait in their own queues meanwhile.
 * `@electric-sql/pglite-socket` 0.2.18 schedules message by message instead, and two postgres.js
 * connections then run each other's portals ("portal \"\" does not exist"); it also pins exact
 * peer versions of pglite and seven extensions, so it is not used.
 */

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** Postgres refuses messages past 1 GB; a local client has no business near that. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);
const ROLLBACK = queryMessage('rollback');
/** Message types after which a client is back at a point where another may go. */
const ENDS_TURN = new Set([0x53 /* Sync */, 0x51 /* Query */]);

export interface WireServer {
  readonly path: string;
  /** Stops accepting and ends every connection once the running call is done; PGlite is the caller's to close. */
  close(): Promise<void>;
}

interface Client {
  socket: Socket;
  buffer: Buffer;
  /** Its startup message has been framed (the only message without a type byte). */
  greeted: boolean;
  /** Its startup message has run. */
  started: boolean;
  /** Complete messages not yet run. */
  pending: Uint8Array[];
  /** Statement names it prepared: closed when it goes, so the shared backend does not keep them. */
  statements: Set<string>;
  gone: boolean;
}

export async function serveWire(db: PGlite, path: string): Promise<WireServer> {
  const clients = new Set<Client>();
  const ready: Client[] = [];
  let owner: Client | null = null;
  let running = false;
  let stopped = false;

  // An exception out of PGlite (a WASM abort) is not caught: it ends the thread, which the host
  // reports as a failure, rather than serving on from a backend in an unknown state.
  const schedule = (): void => {
    if (running || stopped) return;
    running = true;
    void drain().finally(() => {
      running = false;
      if (ready.length > 0 && (owner === null || ready.includes(owner))) schedule();
    });
  };

  async function drain(): Promise<void> {
    while (!stopped) {
      let client: Client | null;
      if (owner === null) {
        client = ready.shift() ?? null;
      } else {
        const i = ready.indexOf(owner);
        client = i === -1 ? null : (ready.splice(i, 1)[0] ?? null);
      }
      if (client === null) return; // idle, or the owner's next message has not arrived yet
      // What it sent up to its turn's end runs as one call: fewer round trips into WASM.
      const batch: Uint8Array[] = [];
      let endsTurn = false;
      while (client.pending.length > 0 && !endsTurn) {
        const msg = client.pending.shift() as Uint8Array;
        batch.push(msg);
        endsTurn = !client.started || ENDS_TURN.has(msg[0] as number);
        client.started = true;
        if (msg[0] === 0x50 /* Parse */) rememberStatement(client, msg);
      }
      if (client.pending.length > 0) ready.push(client);
      owner = client;
      const socket = client.socket;
      await db.runExclusive(() =>
        db.execProtocolRawStream(concat(batch), {
          onRawData: (data) => {
            if (!client.gone) socket.write(data);
          },
        }),
      );
      if (endsTurn && !db.isInTransaction()) owner = null;
      if (client.gone && owner !== client && client.pending.length === 0) clients.delete(client);
    }
  }

  /**
   * A client that went leaves nothing behind: it takes one last turn that closes its prepared
   * statements, ends a batch it left half sent (Sync) and rolls back a transaction it had open.
   */
  const gone = (client: Client): void => {
    if (client.gone) return;
    client.gone = true;
    const cleanup = [...client.statements].map(closeStatement);
    client.statements.clear();
    if (owner === client) cleanup.push(SYNC, ROLLBACK);
    else if (cleanup.length > 0) cleanup.push(SYNC);
    client.pending = cleanup;
    const queued = ready.indexOf(client);
    if (cleanup.length === 0) {
      if (queued !== -1) ready.splice(queued, 1);
      clients.delete(client);
      return;
    }
    if (queued === -1) ready.push(client);
    schedule();
  };

  const onData = (client: Client, chunk: Buffer): void => {
    if (client.gone) return;
    client.buffer = client.buffer.length === 0 ? chunk : Buffer.concat([client.buffer, chunk]);
    let added = false;
    for (;;) {
      const buf = client.buffer;
      const startup = !client.greeted;
      const headerLen = startup ? 4 : 5;
      if (buf.length < headerLen) break;
      const len = startup ? buf.readInt32BE(0) : 1 + buf.readInt32BE(1);
      if (len < headerLen || len > MAX_MESSAGE_BYTES) {
        client.socket.destroy();
        return;
      }
      if (buf.length < len) break;
      const msg = buf.subarray(0, len);
      client.buffer = buf.subarray(len);
      if (startup) {
        const code = len >= 8 ? msg.readInt32BE(4) : 0;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          client.socket.write('N'); // no encryption on a local socket; the client goes on in the clear
          continue;
        }
        if (code !== PROTOCOL_3) {
          // A CancelRequest (nothing to cancel in a single backend) or an unknown protocol.
          client.socket.destroy();
          return;
        }
        client.greeted = true;
      } else if (msg[0] === 0x58 /* Terminate: the backend is shared, so it is not passed on */) {
        client.socket.end();
        return;
      }
      client.pending.push(new Uint8Array(msg));
      added = true;
    }
    if (!added) return;
    if (!ready.includes(client)) ready.push(client);
    schedule();
  };

  try {
    unlinkSync(path); // left by a process that was killed; the caller owns the data directory
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const server: Server = createServer((socket) => {
    const client: Client = { socket, buffer: Buffer.alloc(0), greeted: false, started: false, pending: [], statements: new Set(), gone: false };
    clients.add(client);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => onData(client, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => gone(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // No passwords here: only this user may connect (its directory is 0700 as well).
  chmodSync(path, 0o600);
  return {
    path,
    async close() {
      // Closing PGlite next drops whatever was left uncommitted; only the running call is awaited.
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of clients) c.socket.destroy();
      await db.runExclusive(async () => {});
      await closed;
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  return Buffer.concat(parts);
}

function rememberStatement(client: Client, parse: Uint8Array): void {
  const end = parse.indexOf(0, 5);
  if (end > 5) client.statements.add(Buffer.from(parse.subarray(5, end)).toString('utf8'));
}

function queryMessage(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg[0] = 0x51;
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}

/** A Close (statement) message for `name`. */
function closeStatement(name: string): Uint8Array {
  const body = Buffer.from(`S${name}\0`, 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg[0] = 0x43;
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}
