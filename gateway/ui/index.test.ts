import { describe, expect, it } from 'vitest';
import type { ApiFetch } from './api-client.ts';
import { uiRoutes } from './index.ts';
import { safeNext } from './security.ts';

const ADMIN = 'sk-admin-secret-for-ui-tests-000001';
const ORIGIN = 'http://localhost';

/** A stand-in for the gateway's admin API: the admin key is accepted, anything else is a 401. */
function fakeApi(seen: string[] = []): ApiFetch {
  return (path, init) => {
    seen.push(path);
    const auth = new Headers(init.headers).get('authorization');
    if (auth !== `Bearer ${ADMIN}`) return Response.json({ error: { message: 'bad key' } }, { status: 401 });
    if (path.startsWith('/api/routes')) return Response.json({ object: 'list', data: [{ name: 'support', control: 'a', weights_source: 'config', updated_at: null, updated_by: null, variants: [{ name: 'a', config_weight: 1, weight: 1, share: 1, targets: [], prompt: null }] }] });
    return Response.json({ error: { message: 'not here' } }, { status: 404 });
  };
}

function setup(now = { t: 1_000_000 }) {
  const app = uiRoutes({ api: fakeApi(), clock: () => now.t, sessionTtlMs: 60_000 });
  const signIn = async (key = ADMIN) =>
    app.request('/login', { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key, next: '/ui/routes' }).toString() });
  return { app, signIn, now };
}

const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('dashboard sign-in and sessions', () => {
  it('sends a page without a session to the sign-in page, with the CSP', async () => {
    const { app } = setup();
    const res = await app.request('/routes?x=1');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/login?next=%2Froutes%3Fx%3D1');
    const login = await app.request('/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(login.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(await login.text()).toContain('type="password"');
  });

  it('signs in with an admin key into an HttpOnly, SameSite=Strict cookie that does not hold the key', async () => {
    const { app, signIn } = setup();
    const res = await signIn();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/routes');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^sluice_ui=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/ui');
    expect(setCookie).not.toContain(ADMIN);
    const page = await app.request('/routes', { headers: { cookie: cookieOf(res) } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('support');
  });

  it('refuses a wrong key without creating a session', async () => {
    const { signIn } = setup();
    const res = await signIn('sk-wrong');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('not accepted');
  });

  it('refuses forms without a same-origin Origin header', async () => {
    const { app, signIn } = setup();
    const cookie = cookieOf(await signIn());
    const noOrigin = await app.request('/logout', { method: 'POST', headers: { cookie } });
    expect(noOrigin.status).toBe(403);
    const foreign = await app.request('/prompts/x/labels', { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const login = await app.request('/login', { method: 'POST', headers: { origin: 'https://evil.example' }, body: new URLSearchParams({ key: ADMIN }) });
    expect(login.status).toBe(403);
  });

  it('ends a session at logout and at expiry', async () => {
    const { app, signIn, now } = setup();
    const cookie = cookieOf(await signIn());
    const out = await app.request('/logout', { method: 'POST', headers: { cookie, origin: ORIGIN } });
    expect(out.status).toBe(303);
    expect((await app.request('/routes', { headers: { cookie } })).status).toBe(303);
    const again = cookieOf(await signIn());
    expect((await app.request('/routes', { headers: { cookie: again } })).status).toBe(200);
    now.t += 60_001;
    expect((await app.request('/routes', { headers: { cookie: again } })).status).toBe(303);
  });

  it('serves only the allow-listed assets', async () => {
    const { app } = setup();
    const js = await app.request('/assets/vendor/uPlot.iife.min.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await app.request('/assets/app.css')).status).toBe(200);
    // The URL parser folds `..` before routing: what is left is a page path, which needs a session.
    expect((await app.request('/assets/../index.ts')).status).toBe(303);
    expect((await app.request('/assets/vendor/uPlot.cjs.js')).status).toBe(404);
    expect((await app.request('/assets/%2e%2e%2fsession.ts')).status).toBe(404);
  });

  it('sends a URL with a trailing slash to the one without, query kept, before the sign-in check', async () => {
    const { app } = setup();
    const res = await app.request('/calls/?route=a');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('http://localhost/calls?route=a');
    const post = await app.request('/logout/', { method: 'POST', headers: { origin: ORIGIN } });
    expect(post.status).not.toBe(301);
  });

  it('goes back only to dashboard paths after sign-in', () => {
    expect(safeNext('/ui/calls?route=x')).toBe('/ui/calls?route=x');
    expect(safeNext('https://evil.example')).toBe('/ui');
    expect(safeNext('//evil.example')).toBe('/ui');
    expect(safeNext('/ui//evil.example')).toBe('/ui');
    expect(safeNext(undefined)).toBe('/ui');
  });
});
