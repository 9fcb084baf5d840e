import { join } from 'node:path';
import { OWNER_FILE } from '../db/data-dir-owner.ts';

/**
 * A command the CLI cannot do: printed as `sluice: <message>` with exit code 2. Used when the
 * embedded data directory belongs to another process and the command cannot go through it.
 */
export class CliRefusal extends Error {
  override readonly name = 'CliRefusal';
}

/** The running server refused or failed a request; `message` is its error message. */
export class ServerRequestError extends Error {
  override readonly name = 'ServerRequestError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface OwningServer {
  pid: number;
  /** Reachable from this machine (loopback for a wildcard listen address). */
  url: string;
  /** The server's local admin token (or SLUICE_ADMIN_KEY). */
  token: string;
  dataDir: string;
}

/**
 * The admin API of the server that owns the embedded data directory: how the CLI changes
 * data while that server runs, so every change is the server's own and it reads it back.
 */
export class ServerClient {
  constructor(
    readonly server: OwningServer,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** `the sluice server (pid 123, http://127.0.0.1:8400)`, as refusals and notes name it. */
  describe(): string {
    return `the sluice server (pid ${this.server.pid}, ${this.server.url})`;
  }

  async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw new CliRefusal(
        `${this.describe()} holds the data directory ${this.server.dataDir} but does not answer (${err instanceof Error ? err.message : String(err)}); ` +
          `if no server runs any more, remove ${join(this.server.dataDir, OWNER_FILE)}`,
      );
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (res.status === 401 || res.status === 403) {
      throw new CliRefusal(`${this.describe()} did not accept the local admin token (HTTP ${res.status}): restart it, or set SLUICE_ADMIN_KEY to its admin key`);
    }
    if (!res.ok) {
      const error = (parsed as { error?: { message?: unknown; code?: unknown } } | null)?.error;
      const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status}`;
      throw new ServerRequestError(res.status, message, typeof error?.code === 'string' ? error.code : null);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return (await this.send(method, path, body, signal)).body as T;
  }
}
