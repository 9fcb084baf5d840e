import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { getRun } from '../run/store.ts';
import { runJob } from '../runner.ts';
import { renderHtmlReport } from './html.ts';
import { loadReportInput } from './load.ts';

describe.each(testDatabases())('loadReportInput ($kind)', (target) => {
  let database: Database;
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("loads the job's runs up to this one, the run's scores and its dataset items", async () => {
    const job = (output: string) => ({
      name: 'report-load',
      dataset: { name: 'report-load', items: [{ id: 'a', input: 'Capital of <France>?', expected: 'Paris', output }] },
      scorers: ['exact'],
    });
    const first = await runJob(job('Paris'), { database, client: null });
    const second = await runJob(job('Lyon'), { database, client: null });
    const run = (await getRun(database, second.runId))!;
    const input = await loadReportInput(database, run);
    expect(input.history.map((h) => h.id)).toEqual([first.runId, second.runId]);
    expect(input.scores.map((s) => [s.itemId, s.output, s.score])).toEqual([['a', 'Lyon', 0]]);
    expect(input.items?.map((i) => i.item_id)).toEqual(['a']);
    const page = renderHtmlReport(input);
    expect(page).toContain('Capital of &lt;France&gt;?');
    expect(page).toContain('<pre tabindex="0">Paris</pre>');
    expect(page).toContain('<pre tabindex="0">Lyon</pre>');
  });
});
