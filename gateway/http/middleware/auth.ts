import type { MiddlewareHandler } from 'hono';
import type { KeyStore } from '../../auth/key-store.ts';
import type { KeyScope } from '../../auth/schema.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { AppEnv } from '../env.ts';

/** The presented key: `Authorization: Bearer <key>`, or `x-api-key` as Anthropic clients send it. */
export function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return apiKeyHeader?.trim() || undefined;
}

/** How to get a key, in every 401: a new user on a plain `npm start` has none (issue 14 item 2). */
export const HOW_TO_GET_A_KEY =
  'Create one with `npx sluice keys create --name NAME` (add `--scope admin` for the admin API), ' +
  'or start the gateway with SLUICE_ADMIN_KEY set and use that.';

/**
 * Authenticates the gateway key and checks its scope. Known keys are answered from memory;
 * only an unknown key costs a database look-up. An admin key may also call inference.
 */
export function requireKey(opts: { keys: KeyStore; scope: KeyScope }): MiddlewareHandler<AppEnv> {
  return async function auth(c, next) {
    const key = presentedKey(c.req.header('authorization'), c.req.header('x-api-key'));
    if (!key) {
      throw new GatewayError(
        'missing_api_key',
        `You did not provide an API key. Send it as "Authorization: Bearer <key>" (or "x-api-key: <key>"). ${HOW_TO_GET_A_KEY}`,
      );
    }
    const found = opts.keys.lookup(key) ?? (await opts.keys.lookupSlow(key));
    // The presented key is never echoed: it may be a real secret sent to the wrong place.
    if (!found) {
      const expired = opts.keys.expiredAt(key);
      throw new GatewayError(
        'invalid_api_key',
        expired
          ? `This API key expired at ${expired.toISOString()}; an admin can extend it (PATCH /api/keys/{id} with "expires_at") or create a new one.`
          : `Incorrect API key provided, or it was revoked. ${HOW_TO_GET_A_KEY}`,
      );
    }
    c.get('call')?.setKey(found);
    if (opts.scope === 'admin' && found.scope !== 'admin') {
      throw new GatewayError(
        'insufficient_scope',
        'This key has inference scope; this endpoint needs an admin key (`npx sluice keys create --name NAME --scope admin`).',
      );
    }
    c.set('key', found);
    await next();
  };
}
