/** Fault queue and fault-aware delivery of planned answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonPlan, Plan, QueuedFault } from './types.ts';

/** All fault fields, flattened (a fault object may combine several, e.g. `{ delayMs, status }`). */
export interface FaultFields {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  echoHeaders?: true;
  reset?: true;
  delayMs?: number;
  hang?: true;
  cutAfterChunks?: number;
  malformed?: true;
  dripMs?: number;
  streamError?: { message: string; type?: string };
  /** Hold the request until this many responses have been sent in full (since start or reset). */
  afterAnswers?: number;
  path?: string;
}

export class FaultQueue {
  private queue: QueuedFault[] = [];

  push(...faults: QueuedFault[]): void {
    this.queue.push(...faults);
  }

  clear(): void {
    this.queue = [];
  }

  /** Removes and returns the first fault that applies to `pathname` (exact match when it has a `path`). */
  take(pathname: string): FaultFields | undefined {
    const i = this.queue.findIndex((f) => f.path === undefined || f.path === pathname);
    if (i < 0) return undefined;
    const [f] = this.queue.splice(i, 1);
    return f as FaultFields | undefined;
  }
}

/** Per-response bookkeeping: whether the server itself tore the connection down. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  serverKilled: boolean;
  baseHeaders: Record<string, string>;
}

/** Resolves after `ms`, or as soon as the response closes. */
export function sleep(ms: number, res: ServerResponse): Promise<void> {
  if (ms <= 0 || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      res.off('close', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    res.once('close', done);
  });
}

function write(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(data, () => resolve());
  });
}

export function kill(ex: Exchange): void {
  ex.serverKilled = true;
  ex.req.socket.destroy();
}

export function sendJson(ex: Exchange, plan: JsonPlan): void {
  const { res } = ex;
  if (res.destroyed) return;
  const payload = typeof plan.body === 'string' ? plan.body : JSON.stringify(plan.body);
  res.writeHead(plan.status, {
    ...ex.baseHeaders,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...plan.headers,
  });
  res.end(payload);
}

/** Delivers a plan, applying the delivery-shaping faults (malformed, dripMs, cutAfterChunks, streamError). */
export async function deliver(ex: Exchange, plan: Plan, fault: FaultFields | undefined): Promise<void> {
  const { res } = ex;
  if (res.destroyed) return;
  if (plan.kind === 'json') {
    if (fault?.malformed) sendJson(ex, { kind: 'json', status: 200, body: '{"id":"broken","object":"chat.completion","choices":[{"index":0,' });
    else sendJson(ex, plan);
    return;
  }
  res.writeHead(200, {
    ...ex.baseHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  // The events actually sent: the plan's, plus a broken one after the first (malformed), or cut short
  // by an error event after the first content event (streamError).
  const out: string[] = [];
  for (let i = 0; i < plan.events.length; i++) {
    out.push(plan.events[i] ?? '');
    if (i === 0 && fault?.malformed) out.push(plan.malformedEvent);
    if (fault?.streamError && i === plan.firstContentIndex) {
      out.push(plan.errorEvent(fault.streamError.message, fault.streamError.type));
      break;
    }
  }
  const cut = fault?.cutAfterChunks;
  for (let i = 0; i < out.length; i++) {
    if (cut !== undefined && i >= cut) return kill(ex);
    if (i > 0 && fault?.dripMs) await sleep(fault.dripMs, res);
    if (res.destroyed) return;
    await write(res, out[i] ?? '');
  }
  if (res.destroyed) return;
  if (cut !== undefined && out.length >= cut) return kill(ex);
  res.end();
}
