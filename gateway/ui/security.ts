import type { Context, MiddlewareHandler } from 'hono';

/** No inline script or style: everything comes from /ui/assets (DESIGN §4.7: works offline). */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(): MiddlewareHandler {
  return async function uiSecurityHeaders(c, next) {
    await next();
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    // Not no-referrer: under it browsers send `Origin: null` on form posts, which the CSRF check needs.
    c.header('referrer-policy', 'same-origin');
    c.header('x-frame-options', 'DENY');
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
  };
}

/**
 * A form that changes something must come from a page of this origin (CSRF): browsers send
 * Origin on every POST; a missing or foreign one is refused. The SameSite=Strict cookie is
 * the second line.
 */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin) return false;
  const own = new URL(c.req.url);
  const host = c.req.header('host') ?? own.host;
  return origin === own.origin || origin === `${own.protocol}//${host}`;
}

/** Only a path of the dashboard itself is a place to go back to after sign-in (no open redirect). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/ui') || next.startsWith('/ui/login') || next.includes('\\') || /^\/ui\/\//.test(next)) return '/ui';
  return next;
}
