import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import RedisParser from 'redis-parser';

/**
 * The request path's line to Redis: one connection that sends EVALSHA of a few known scripts,
 * pipelined, and nothing else. ioredis (which the store keeps for everything else) spends about
 * 74 µs of CPU per round trip on this machine where the socket work itself is about 40 µs
 * (bench/README.md, issue 16): a Command object, its promise wiring, a timer per command and
 * argument conversion. Here a call is one string written and one entry in a FIFO; the replies
 * are parsed by redis-parser (the parser ioredis itself uses); one timer watches the oldest
 * command instead of one per command.
 *
 * Semantics kept from the store's ioredis options: a command sent while the connection is
 * being made waits for it within the timeout; a command lost with its connection fails and is
 * never resent (a resent admit could reserve twice); a command unanswered after `timeoutMs`
 * fails, and the connection is dropped (its late answers would be misattributed otherwise).
 * The next command reconnects, at most every RECONNECT_MIN_MS.
 */

export interface RedisPipeOptions {
  /** redis:// or rediss:// URL with optional user, password and database (`/2`). */
  url: string;
  timeoutMs: number;
  /** Loaded (SCRIPT LOAD) on every connection before anything else is sent. */
  scripts: readonly PipeScript[];
  onError?: ((err: Error) => void) | undefined;
}

export interface PipeScript {
  readonly lua: string;
  readonly sha: string;
}

export const pipeScript = (lua: string): PipeScript => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });

interface Pending {
  resolve(reply: unknown): void;
  reject(err: Error): void;
  at: number;
  /** Set for EVALSHA: what to send as EVAL when Redis does not know the script. */
  retry?: { script: PipeScript; keys: readonly string[]; args: readonly (string | number)[] } | undefined;
}

const RECONNECT_MIN_MS = 200;

export class RedisPipeError extends Error {
  override readonly name = 'RedisPipeError';
}

export class RedisPipe {
  private socket: Socket | null = null;
  private ready = false;
  /** Commands written (or waiting for the connection), oldest first; answered in that order. */
  private readonly pending: Pending[] = [];
  private head = 0;
  /** Commands written before the connection was ready, sent on connect. */
  private offline: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastConnect = 0;
  private closed = false;
  private readonly target: { host: string; port: number; tls: boolean; user: string | null; password: string | null; db: number };

  constructor(private readonly opts: RedisPipeOptions) {
    const u = new URL(opts.url);
    this.target = {
      host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: Number(u.port || 6379),
      tls: u.protocol === 'rediss:',
      user: u.username ? decodeURIComponent(u.username) : null,
      password: u.password ? decodeURIComponent(u.password) : null,
      db: Number(u.pathname.slice(1) || 0),
    };
  }

  /** EVALSHA, falling back to EVAL once when Redis does not have the script (a restart, a flush). */
  evalsha(script: PipeScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.send(encode('EVALSHA', script.sha, keys, args), { script, keys, args });
  }

  /** Connects now rather than on the first command. */
  open(): void {
    if (!this.socket && !this.closed) this.connect();
  }

  /** Refuses new commands, waits (up to the timeout) for the answers to those in flight, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + this.opts.timeoutMs;
    while (this.socket && this.head < this.pending.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const socket = this.socket;
    this.drop(new RedisPipeError('the Redis pipe was closed'));
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
  }

  private send(command: string, retry?: Pending['retry']): Promise<unknown> {
    if (this.closed) return Promise.reject(new RedisPipeError('the Redis pipe is closed'));
    if (!this.socket) {
      if (Date.now() - this.lastConnect < RECONNECT_MIN_MS) return Promise.reject(new RedisPipeError('Redis is unreachable (reconnecting)'));
      this.connect();
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, at: Date.now(), retry });
      if (this.ready) this.socket!.write(command);
      else this.offline.push(command);
      this.timer ??= setTimeout(() => this.checkTimeout(), this.opts.timeoutMs).unref();
    });
  }

  private connect(): void {
    this.lastConnect = Date.now();
    const { host, port, tls } = this.target;
    const socket = tls ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    this.socket = socket;
    this.ready = false;
    socket.setNoDelay(true);
    const parser = new RedisParser({
      returnReply: (reply: unknown) => this.answer(reply),
      returnError: (err: Error) => this.answer(err),
      returnFatalError: (err: Error) => this.fail(socket, new RedisPipeError(`Redis protocol error: ${err.message}`)),
    });
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      // AUTH, SELECT and the scripts go first; an error in any of them drops the connection.
      const setup: string[] = [];
      const { user, password, db } = this.target;
      if (password !== null) setup.push(encode('AUTH', null, [], user === null ? [password] : [user, password]));
      if (db !== 0) setup.push(encode('SELECT', null, [], [db]));
      for (const script of this.opts.scripts) setup.push(encode('SCRIPT', null, [], ['LOAD', script.lua]));
      for (const s of setup) {
        this.pending.splice(this.head, 0, { resolve: () => {}, reject: (err) => this.fail(socket, err), at: Date.now() });
      }
      this.ready = true;
      const queued = this.offline;
      this.offline = [];
      socket.write(setup.join('') + queued.join(''));
    });
    socket.on('data', (chunk: Buffer) => parser.execute(chunk));
    socket.on('error', (err) => this.fail(socket, err));
    socket.on('close', () => this.fail(socket, new RedisPipeError('the Redis connection closed')));
  }

  private answer(reply: unknown): void {
    const p = this.pending[this.head];
    if (!p) return;
    this.pending[this.head++] = undefined as unknown as Pending;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (reply instanceof Error) {
      if (p.retry && reply.message.startsWith('NOSCRIPT')) {
        // The script did not run: sending it whole cannot apply anything twice.
        const { script, keys, args } = p.retry;
        this.send(encode('EVAL', script.lua, keys, args)).then(p.resolve, p.reject);
        return;
      }
      p.reject(new RedisPipeError(reply.message));
      return;
    }
    p.resolve(reply);
  }

  private checkTimeout(): void {
    this.timer = null;
    const oldest = this.pending[this.head];
    if (!oldest) return;
    const waited = Date.now() - oldest.at;
    if (waited >= this.opts.timeoutMs) {
      if (this.socket) this.fail(this.socket, new RedisPipeError(`Redis did not answer within ${this.opts.timeoutMs} ms`));
      return;
    }
    this.timer = setTimeout(() => this.checkTimeout(), this.opts.timeoutMs - waited).unref();
  }

  /** The connection is gone: everything in flight fails (never resent); the next command reconnects. */
  private fail(socket: Socket, err: Error): void {
    if (socket !== this.socket) return;
    if (!this.closed) this.opts.onError?.(err);
    this.drop(err);
    socket.destroy();
  }

  private drop(err: Error): void {
    this.socket = null;
    this.ready = false;
    this.offline = [];
    const lost = this.pending.splice(this.head);
    this.pending.length = 0;
    this.head = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of lost) p.reject(err);
  }
}

/** One RESP command: name, the script (sha or source) and key count when given, keys, args. */
function encode(name: string, script: string | null, keys: readonly string[], args: readonly (string | number)[]): string {
  const n = 1 + (script === null ? 0 : 2) + keys.length + args.length;
  let out = `*${n}\r\n$${name.length}\r\n${name}\r\n`;
  if (script !== null) {
    const count = String(keys.length);
    out += `$${Buffer.byteLength(script)}\r\n${script}\r\n$${count.length}\r\n${count}\r\n`;
  }
  for (const k of keys) out += `$${Buffer.byteLength(k)}\r\n${k}\r\n`;
  for (const a of args) {
    const s = typeof a === 'number' ? String(a) : a;
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}
