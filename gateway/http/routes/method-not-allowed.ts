import type { Hono } from 'hono';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { AppEnv } from '../env.ts';

/** A known path called with the wrong method is a 405 naming the right one, not a 404. */
export function methodNotAllowed(app: Hono<AppEnv>, paths: string[], allowed: string): void {
  for (const path of paths) {
    app.all(path, (c) => {
      c.header('allow', allowed);
      throw new GatewayError('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${allowed}.`);
    });
  }
}
