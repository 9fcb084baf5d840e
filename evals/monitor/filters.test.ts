import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCallRow } from '../../gateway/calls/call-row.ts';
import { insertCallRows } from '../../gateway/calls/insert.ts';
import { compilePayloadPolicy } from '../../gateway/calls/payloads.ts';
import type { Database } from '../../gateway/db/client.ts';
import { PromptStore } from '../../prompts/index.ts';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { computeMetric } from './metrics.ts';

const policy = compilePayloadPolicy({ enabled: true, maxBytes: 65_536, redactFields: [], redactPatterns: [] });

describe.each(testDatabases())('a monitor scope naming a prompt label ($kind)', (target) => {
  let database: Database;
  let prompts: PromptStore;
  const now = Date.now();

  beforeAll(async () => {
    database = await target.open();
    prompts = new PromptStore(database);
    await prompts.createPrompt('support', null, 'test');
    for (const text of ['v1', 'v2', 'v3']) {
      await prompts.createVersion('support', { messages: [{ role: 'system', content: text }], model: null, params: {}, variables: null }, 'test');
    }
    await prompts.moveLabel('support', 'production', 2, 'test');
    const at = new Date(now - 60_000);
    const rows = [
      ...Array.from({ length: 10 }, (_, i) => sampleRecord({ promptVersion: 2, status: i < 5 ? 'upstream_error' : 'ok', httpStatus: i < 5 ? 502 : 200 }, at)),
      ...Array.from({ length: 10 }, () => sampleRecord({ promptVersion: 3 }, at)),
    ];
    await insertCallRows(database, rows.map((r) => toCallRow(r, policy, now)));
  });
  afterAll(async () => database.close());

  const errorRate = async (prompt: string) => (await computeMetric(database, 'error_rate', { prompt }, new Date(now - 600_000), new Date(now))).value;

  it('watches the versions the label serves now: its own, and a rollout split while there is one', async () => {
    expect(await errorRate('support@production')).toBe(0.5);
    expect(await errorRate('support@latest')).toBe(0);
    expect(await errorRate('support@2')).toBe(0.5);
    expect(await errorRate('support')).toBe(0.25);
    await prompts.setLabelSplit('support', 'production', 3, 10, 'test');
    expect(await errorRate('support@production')).toBe(0.25);
    await prompts.clearLabelSplit('support', 'production', 'test');
    await prompts.moveLabel('support', 'production', 3, 'test');
    expect(await errorRate('support@production')).toBe(0);
    expect(await errorRate('support@staging')).toBeNull();
  });
});
