import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { createJsonLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { seedDataDir } from '../helpers/pglite-data-dir.ts';
import { HAVE_CHROMIUM, launch, screenshot, seriousViolations, watch } from './harness.ts';
import { adminApi, seed, TRACE_ID, type Api, type Seeded } from './seed.ts';

/**
 * Issue 19: the dashboard in a real browser (Debian's chromium through playwright-core) against
 * a real server (`sluice serve`'s eval extension, embedded PGlite) seeded through the public
 * APIs. Every view: seeded names and numbers appear, no console error, no failed request, no
 * serious axe violation, a screenshot in docs/ui/. Then changes made from the UI (ack/resolve
 * an incident, move a label, abort a rollout) are checked through the API.
 */
const ADMIN = 'sk-sluice-ui-browser-test-admin-0001';

describe.skipIf(!HAVE_CHROMIUM)('dashboard in a browser', () => {
  let fake: FakeProvider;
  let root: string;
  let gw: RunningGateway;
  let api: Api;
  let seeded: Seeded;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  const logLines: string[] = [];
  const visited: string[] = [];

  beforeAll(async () => {
    fake = await startFakeProvider();
    root = mkdtempSync(join(tmpdir(), 'sluice-ui-'));
    writeFileSync(
      join(root, 'sluice.yaml'),
      `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl}, retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 } }\n` +
        'routes:\n  ui-support:\n    variants: [{ name: a, target: up/gpt-4o-mini }, { name: b, target: up/gpt-4o, weight: 0 }]\n' +
        'monitors:\n  ui-support-errors:\n    scope: { route: ui-support }\n    metric: error_rate\n    detector: { type: threshold, max: 0.1 }\n    window: 15m\n    min_samples: 3\n' +
        'monitoring: { interval_seconds: 0.25 }\nlogging: { flush_ms: 20 }\n',
    );
    const logger = createJsonLogger({ level: 'info', destination: (line) => logLines.push(line) });
    seedDataDir(join(root, 'data'));
    gw = await startGateway(
      { SLUICE_CONFIG: join(root, 'sluice.yaml'), SLUICE_DATA_DIR: join(root, 'data'), SLUICE_ADMIN_KEY: ADMIN, PORT: '0' },
      logger,
      evalExtension,
    );
    api = adminApi(gw.url, ADMIN);
    seeded = await seed(api, gw.url, fake);
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('request', (r) => visited.push(r.url()));
    page.on('dialog', (d) => void d.accept());
    problems = watch(page);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await fake?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Opens a view; asserts it rendered with no console error, failed request or serious a11y violation. */
  async function open(path: string, shot?: string): Promise<string> {
    const res = await page.goto(`${gw.url}${path}`);
    expect(res?.status(), path).toBe(200);
    await page.waitForLoadState('load');
    const text = await page.locator('main').innerText();
    expect(problems, path).toEqual([]);
    expect(await seriousViolations(page), path).toEqual([]);
    if (shot) await screenshot(page, shot);
    return text;
  }

  it('signs in with the admin key into an HttpOnly session cookie', async () => {
    await page.goto(`${gw.url}/ui/calls?route=ui-support`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in');
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/calls\?route=ui-support$/);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'sluice_ui', httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(cookie!.value).not.toContain(ADMIN);
    expect(problems).toEqual([]);
  });

  it('overview: totals, latency and four charts', async () => {
    const text = await open('/ui?range=24h', 'overview');
    expect(await page.getByTestId('calls-total').innerText()).toBe('9');
    expect(await page.getByTestId('errors-total').innerText()).toContain('3');
    expect(await page.getByTestId('cost-total').innerText()).toMatch(/^\$/);
    expect(await page.getByTestId('latency-p95').innerText()).toMatch(/ms|s$/);
    // Three charts have data; the cache chart says there is none (no cache lookups were made).
    expect(await page.locator('.uplot').count()).toBe(3);
    expect(await page.locator('.chart[data-source="chart-cache-data"]').innerText()).toBe('No data in this range.');
    expect(text).toContain('Cache hit rate');
    await open('/ui?range=7d');
    expect(await page.getByTestId('calls-total').innerText()).toBe('9');
  });

  it('calls: filters in the URL, and one call with its payload, attempts, trace id and cost', async () => {
    await open('/ui/calls?route=ui-support&status=upstream_error', 'calls');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await open('/ui/calls?user=ui-user-1');
    expect(await page.locator('tbody tr').count()).toBe(6);
    const call = await api('GET', `/api/calls/${seeded.callIds[0]}`);
    const text = await open(`/ui/calls/${seeded.callIds[0]}`, 'call');
    expect(text).toContain('Echo: question number 0');
    expect(text).toContain('ui-support / a');
    expect(text).toContain('Attempts');
    expect(call.trace_id).toBe(TRACE_ID);
    expect(await page.getByTestId('trace-id').innerText()).toBe(TRACE_ID);
    expect(await page.getByTestId('call-cost').innerText()).toMatch(/^\$|—/);
    // The feedback seeded for this call, read through GET /api/calls/{id}/scores.
    const scores = await api('GET', `/api/calls/${seeded.callIds[0]}/scores`);
    expect(scores.data).toMatchObject([{ scorer: 'helpfulness', score: 0.5, label: 'good', reason: 'answered the question', source: 'feedback' }]);
    expect(await page.getByTestId('score-helpfulness').innerText()).toBe('0.500');
    const scoreRow = page.locator('tr', { has: page.getByTestId('score-helpfulness') });
    expect(await scoreRow.innerText()).toMatch(/good\s+answered the question\s+feedback\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    // A call without scores says so.
    expect(await open(`/ui/calls/${seeded.callIds[5]}`)).toContain('No scores for this call');
  });

  it('incidents: acknowledge and resolve from the UI', async () => {
    const text = await open('/ui/incidents', 'incidents');
    expect(text).toContain('ui-support-errors');
    expect(text).toContain('error_rate');
    const row = page.locator('tr', { has: page.getByRole('button', { name: /Acknowledge incident ui-support-errors/ }) }).first();
    await row.getByRole('button', { name: /Acknowledge/ }).click();
    await page.waitForURL(/ok=acked/);
    expect(await page.getByRole('status').innerText()).toContain('acknowledged');
    const acked = await api('GET', `/api/incidents/${seeded.incidentId}`);
    expect(acked.acknowledged_at).not.toBeNull();
    await page.getByRole('button', { name: /Resolve incident ui-support-errors/ }).first().click();
    await page.waitForURL(/ok=resolved/);
    const resolved = await api('GET', `/api/incidents/${seeded.incidentId}`);
    expect(resolved.status).toBe('resolved');
    expect(await open('/ui/incidents?status=resolved')).toContain('ui-support-errors');
    expect(problems).toEqual([]);
  });

  it('routes: live weights, per-variant stats and aborting the rollout from the UI', async () => {
    expect(await open('/ui/routes')).toContain('ui-support');
    const text = await open('/ui/routes/ui-support?since=24h', 'routes');
    expect(text).toMatch(/Live weight/);
    expect(await page.getByTestId('rollout-state').innerText()).toBe('running');
    expect(text).toContain('Per-variant stats');
    expect((await api('GET', '/api/routes/ui-support/rollout')).state).toBe('running');
    await page.getByRole('button', { name: 'Abort rollout' }).click();
    await page.waitForURL(/ok=rollout_aborted/);
    expect(await page.getByTestId('rollout-state').innerText()).toBe('aborted');
    expect((await api('GET', '/api/routes/ui-support/rollout')).state).toBe('aborted');
    expect(problems).toEqual([]);
  });

  it('prompts: versions, side-by-side diff, and moving a label from the UI', async () => {
    expect(await open('/ui/prompts')).toContain('ui-greeter');
    const text = await open('/ui/prompts/ui-greeter?from=1&to=2', 'prompts');
    expect(text).toContain('Say hello to {{name}}.');
    expect(text).toContain('Say hello warmly to {{name}}.');
    expect(await page.getByTestId('label-production').innerText()).toBe('v1');
    expect((await api('GET', '/api/prompts/ui-greeter/resolve?label=production')).version).toBe(1);
    await page.getByLabel('Label', { exact: true }).fill('production');
    await page.locator('#m-version').selectOption('2');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.waitForURL(/ok=label_moved/);
    expect(await page.getByTestId('label-production').innerText()).toBe('v2');
    expect((await api('GET', '/api/prompts/ui-greeter/resolve?label=production')).version).toBe(2);
    // The staging label's rollout of v2, aborted from the UI: the label stays at v1.
    expect(await page.locator('main').innerText()).toContain('Rollout behind staging');
    expect(await page.getByTestId('rollout-state').innerText()).toBe('running');
    await page.getByRole('button', { name: 'Abort rollout' }).click();
    await page.waitForURL(/ok=rollout_aborted/);
    expect(await page.getByTestId('rollout-state').innerText()).toBe('aborted');
    expect((await api('GET', '/api/prompts/ui-greeter/labels/staging/rollout')).state).toBe('aborted');
    expect((await api('GET', '/api/prompts/ui-greeter/resolve?label=staging')).version).toBe(1);
    expect(problems).toEqual([]);
  });

  it('evals: runs, results per item with outputs, scores over time', async () => {
    const text = await open('/ui/evals', 'evals');
    expect(text).toContain('ui-refund-check');
    expect(text).toContain('helpfulness');
    expect(await page.locator('.uplot').count()).toBeGreaterThan(0);
    expect(text).toContain('Drift of production traffic');
    expect(text).toContain('latency_ms');
    const run = await open(`/ui/evals/${seeded.evalRunId}`, 'eval-run');
    expect(run).toContain('refund-1');
    expect(run).toContain('Your refund is on its way.');
    expect(run).toContain('mentions_refund');
  });

  it('keys and teams: spend against budget', async () => {
    const text = await open('/ui/keys', 'keys');
    expect(text).toContain('ui-test-app');
    expect(text).toContain('ui-support-team');
    expect(text).toContain('$10.00 / month');
    expect(text).toContain('$50.00 / month');
    expect(await page.locator('meter').count()).toBeGreaterThanOrEqual(2);
    const key = await api('GET', `/api/keys/${seeded.appKeyId}`);
    expect(key.spend.key.spent_usd).toBeGreaterThan(0);
    expect(text).toContain(`$${key.spend.key.spent_usd.toFixed(6)}`);
  });

  it('every view has one URL: with a trailing slash it redirects to the URL without', async () => {
    const views = [
      '/ui',
      '/ui/calls',
      `/ui/calls/${seeded.callIds[0]}`,
      '/ui/incidents',
      '/ui/routes',
      '/ui/routes/ui-support',
      '/ui/prompts',
      '/ui/prompts/ui-greeter',
      '/ui/evals',
      `/ui/evals/${seeded.evalRunId}`,
      '/ui/keys',
    ];
    for (const view of views) {
      expect((await page.goto(`${gw.url}${view}`))?.status(), view).toBe(200);
      const res = await page.goto(`${gw.url}${view}/?since=24h`);
      expect(res?.status(), `${view}/`).toBe(200);
      expect(res?.request().redirectedFrom()?.url(), `${view}/`).toBe(`${gw.url}${view}/?since=24h`);
      expect(new URL(page.url()).pathname + new URL(page.url()).search, `${view}/`).toBe(`${view}?since=24h`);
    }
    // Signed out too: the redirect comes first, then sign-in returns to the URL without the slash.
    const res = await fetch(`${gw.url}/ui/keys/`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(new URL(res.headers.get('location')!).pathname).toBe('/ui/keys');
    expect(problems).toEqual([]);
  });

  it('works from the keyboard: skip link first, then the navigation', async () => {
    await open('/ui/calls');
    const focused = () => page.evaluate(() => {
      const el = (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement;
      return el?.textContent?.trim() ?? null;
    });
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Overview');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui$/);
    expect(problems).toEqual([]);
  });

  it('signs out, and the key was never in a URL or a log line', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ui\/login$/);
    await page.goto(`${gw.url}/ui/keys`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(visited.length).toBeGreaterThan(10);
    expect(visited.filter((u) => u.includes(ADMIN))).toEqual([]);
    expect(logLines.filter((l) => l.includes(ADMIN))).toEqual([]);
    expect(problems).toEqual([]);
  });
});
