import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

const SAFE_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/** Keeps a caller's x-request-id when it is sane, else makes one; echoed on every response. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header('x-request-id');
    const id = incoming && SAFE_ID.test(incoming) ? incoming : `req_${randomUUID().replaceAll('-', '')}`;
    c.set('requestId', id);
    await next();
    c.res.headers.set('x-request-id', id);
  };
}
