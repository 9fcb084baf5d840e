import { GatewayError } from '../errors/gateway-error.ts';

/** A step ran past its time budget. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/**
 * Runs `fn` with a signal that aborts after `ms` or when `parent` aborts, and returns no later
 * than that — even when `fn` ignores its signal (an in-process PGlite query cannot be
 * cancelled). A late result or failure of `fn` is then dropped. A parent abort (the client went
 * away) is a `client_aborted` GatewayError; the deadline is a DeadlineExceeded.
 */
export async function withDeadline<T>(ms: number, parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (parent.aborted) throw clientAborted(parent);
  const controller = new AbortController();
  let onAbort: () => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => {
      const err = parent.aborted ? clientAborted(parent) : new DeadlineExceeded(ms);
      controller.abort(err);
      reject(err);
    };
  });
  stopped.catch(() => {});
  const timer = setTimeout(onAbort, ms);
  parent.addEventListener('abort', onAbort, { once: true });
  try {
    const work = Promise.resolve().then(() => fn(controller.signal));
    work.catch(() => {});
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onAbort);
  }
}

function clientAborted(parent: AbortSignal): GatewayError {
  return parent.reason instanceof GatewayError ? parent.reason : new GatewayError('client_aborted', 'The client closed the request.');
}
