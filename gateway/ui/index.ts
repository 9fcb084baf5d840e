import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { trimTrailingSlash } from 'hono/trailing-slash';
import { ApiClient, type ApiFetch } from './api-client.ts';
import { assetRoutes } from './assets.ts';
import type { UiEnv } from './env.ts';
import { html } from './html.ts';
import { page } from './layout.ts';
import { safeNext, sameOrigin, securityHeaders } from './security.ts';
import { COOKIE, MemorySessionStore, type SessionStore } from './session.ts';
import { signInPage } from './views/sign-in.ts';
import { registerViews } from './views/register.ts';

export interface UiDeps {
  /** The gateway's own admin API, in-process (`(path, init) => app.request(path, init)`). */
  api: ApiFetch;
  clock: () => number;
  /** Where an unexpected failure of a page is reported (never with the key). */
  logError?: (message: string, fields: Record<string, unknown>) => void;
  sessionTtlMs?: number;
  /** Where sessions live: the app passes the database's (gateway/ui/session-db.ts); default in memory. */
  sessions?: SessionStore;
}

/** An admin-scope endpoint that touches no database: a cheap check that a key is an admin key. */
const KEY_CHECK_PATH = '/api/routes';

/**
 * The dashboard (DESIGN §4.7), mounted at /ui. Pages are rendered on the server from the
 * public admin API; the operator's admin key lives only in a server-side session (session-db.ts).
 */
export function uiRoutes(deps: UiDeps): Hono<UiEnv> {
  const sessions = deps.sessions ?? new MemorySessionStore({ clock: deps.clock, ...(deps.sessionTtlMs === undefined ? {} : { ttlMs: deps.sessionTtlMs }) });
  const app = new Hono<UiEnv>();
  app.use(securityHeaders());
  // `/ui/` and `/ui/calls/` land where `/ui` and `/ui/calls` do, before the sign-in check (301).
  app.use(trimTrailingSlash({ alwaysRedirect: true }));
  app.route('/assets', assetRoutes());

  const cookieOptions = (secure: boolean) => ({ path: '/ui', httpOnly: true, sameSite: 'Strict' as const, secure });
  const isHttps = (url: string) => url.startsWith('https:');

  app.get('/login', async (c) => {
    if (await sessions.get(getCookie(c, COOKIE))) return c.redirect(safeNext(c.req.query('next')), 303);
    return c.html(signInPage({ next: safeNext(c.req.query('next')) }).value);
  });

  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return c.html(forbidden().value, 403);
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (!key) return c.html(signInPage({ next, error: 'Enter an admin key.' }).value, 400);
    const check = await new ApiClient(deps.api, key).get(KEY_CHECK_PATH);
    if (!check.ok) {
      const error = check.status === 403 ? 'That key has inference scope; the dashboard needs an admin key.' : 'That key was not accepted.';
      return c.html(signInPage({ next, error }).value, check.status === 403 ? 403 : 401);
    }
    const id = await sessions.create(key);
    setCookie(c, COOKIE, id, { ...cookieOptions(isHttps(c.req.url)), maxAge: sessions.maxAgeSeconds });
    return c.redirect(next, 303);
  });

  app.post('/logout', async (c) => {
    if (!sameOrigin(c)) return c.html(forbidden().value, 403);
    await sessions.delete(getCookie(c, COOKIE));
    deleteCookie(c, COOKIE, cookieOptions(isHttps(c.req.url)));
    return c.redirect('/ui/login', 303);
  });

  // Every other page needs a session; every change also a same-origin form.
  app.use('*', async (c, next) => {
    const id = getCookie(c, COOKIE);
    const session = await sessions.get(id);
    if (!session || !id) {
      if (c.req.method !== 'GET') return c.html(forbidden().value, 403);
      const here = new URL(c.req.url);
      return c.redirect(`/ui/login?next=${encodeURIComponent(here.pathname + here.search)}`, 303);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !sameOrigin(c)) return c.html(forbidden().value, 403);
    c.set('sessionId', id);
    c.set('clock', deps.clock);
    c.set('api', new ApiClient(deps.api, session.key));
    await next();
  });

  registerViews(app);

  app.onError((err, c) => {
    deps.logError?.('dashboard page failed', { path: c.req.path, err: err instanceof Error ? err.message : String(err) });
    return c.html(page({ title: 'Something went wrong', body: html`<p>The page could not be rendered. <a href="/ui">Back to the overview</a>.</p>` }).value, 500);
  });
  return app;
}

function forbidden() {
  return page({ title: 'Forbidden', body: html`<p>This form must be sent from a signed-in page of this dashboard. <a href="/ui/login">Sign in</a>.</p>` });
}
