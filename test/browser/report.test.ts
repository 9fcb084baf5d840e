import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../evals/report/html.ts';
import { LONG, sampleReport } from '../../evals/report/sample.ts';
import { HAVE_CHROMIUM, launch, screenshot, seriousViolations, watch } from './harness.ts';

/**
 * Issue 19 item 4: the eval HTML report, opened as a file in chromium with the network cut off,
 * draws its charts with the dashboard's chart code (a uPlot canvas per chart, a time axis with
 * times, integer count ticks), shows the per-item outputs and reports no error.
 */
describe.skipIf(!HAVE_CHROMIUM)('eval HTML report in a browser', () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const requests: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtmlReport(sampleReport()));
    browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    problems = watch(page);
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('.chart .uplot canvas');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws every chart (a canvas each) offline, with no console error and no request but the file', async () => {
    const charts = await page.locator('.chart[data-source]').count();
    expect(charts).toBe(4);
    expect(await page.locator('.chart .uplot canvas').count()).toBe(charts);
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
  });

  it('scores over time: a time axis showing times (UTC, with the date), a legend per target', async () => {
    const trend = page.locator('.chart[data-source="trend-0-data"]');
    const ticks = (await trend.getAttribute('data-ticks-x'))?.split('|') ?? [];
    expect(ticks.length).toBeGreaterThan(1);
    for (const t of ticks) expect(t).toMatch(/^\d{2}:\d{2}(\n2026-03-02)?$/);
    expect(ticks[0]).toMatch(/\n2026-03-02$/);
    const legend = await trend.locator('.u-legend').innerText();
    expect(legend).toContain('v1');
    expect(legend).toContain('v2');
  });

  it('distributions: count axis with integer ticks only', async () => {
    const ticks = (await page.locator('.chart[data-source="dist-0-data"]').getAttribute('data-ticks-y'))?.split('|') ?? [];
    expect(ticks.length).toBeGreaterThan(1);
    for (const t of ticks) expect(t).toMatch(/^\d+$/);
  });

  it('per-item outputs: escaped text shown as text, long text collapsed until opened', async () => {
    expect(await page.locator('table.items').innerText()).toContain('v2 says <script>alert("x")</script>');
    const long = page.locator('table.items details', { hasText: 'END-OF-LONG' }).first();
    expect(await long.locator('pre').isVisible()).toBe(false);
    await long.locator('summary').click();
    expect(await long.locator('pre').innerText()).toBe(LONG);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'eval-report');
    expect(problems).toEqual([]);
  });
});
