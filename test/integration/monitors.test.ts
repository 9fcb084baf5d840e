import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { seedDataDir } from '../helpers/pglite-data-dir.ts';
import { sluice } from '../helpers/sluice-cli.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Issue 18 items 2–3 end to end: a running server (`sluice serve`'s extension) with an
 * error-rate monitor on a route. The route's upstream starts failing; within a couple of
 * evaluation intervals one incident opens, one signed webhook arrives, and the API shows both.
 */
describe('a monitor on a running server', () => {
  let fake: FakeProvider;
  let root: string;
  let gw: RunningGateway;
  let receiver: WebhookReceiver;
  const KEY = 'sk-sluice-monitor-test-key-000001';
  const SECRET = 'whsec-monitor-test';

  beforeAll(async () => {
    fake = await startFakeProvider();
    receiver = await startWebhookReceiver();
    const hookUrl = receiver.url;
    root = mkdtempSync(join(tmpdir(), 'sluice-monitors-'));
    writeFileSync(
      join(root, 'sluice.yaml'),
      `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl}, retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 } }\n` +
        'routes:\n  bot: { variants: [{ name: a, target: up/gpt-4o-mini }] }\n' +
        'monitors:\n  bot-errors: { scope: { route: bot }, metric: error_rate, detector: { type: threshold, max: 0.2 }, window: 5m, min_samples: 10 }\n' +
        `notifications:\n  ops: { type: webhook, url: ${hookUrl}, secret: ${SECRET} }\n` +
        'monitoring: { interval_seconds: 0.2 }\nlogging: { flush_ms: 20 }\n',
    );
    seedDataDir(join(root, 'data'));
    gw = await startGateway(
      { SLUICE_CONFIG: join(root, 'sluice.yaml'), SLUICE_DATA_DIR: join(root, 'data'), SLUICE_ADMIN_KEY: KEY, PORT: '0' },
      silentLogger,
      evalExtension,
    );
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await receiver?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const api = async (path: string) => (await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })).json() as Promise<any>;
  const chat = () =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bot', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('healthy traffic opens nothing; a failing upstream opens one incident and one signed webhook', async () => {
    for (let i = 0; i < 12; i++) expect((await chat()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 800));
    expect((await api('/api/incidents')).data).toEqual([]);
    expect((await api('/api/monitors')).data[0]).toMatchObject({ name: 'bot-errors', state: 'ok' });

    fake.enqueue(...Array.from({ length: 12 }, () => ({ status: 500 })));
    for (let i = 0; i < 12; i++) expect((await chat()).status).toBe(502);

    let incidents: any[] = [];
    for (let i = 0; i < 100 && (incidents.length === 0 || receiver.got.length === 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      incidents = (await api('/api/incidents?status=open')).data;
    }
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ monitor: 'bot-errors', metric: 'error_rate', baseline: 0.2 });
    // Evaluated while the failing calls are still being logged: the value is the error rate at
    // that moment, above the bound and at most the final 12 of 24.
    expect(incidents[0].value).toBeGreaterThan(0.2);
    expect(incidents[0].value).toBeLessThanOrEqual(0.5);
    // A few more evaluations: still one incident, still one notification.
    await new Promise((r) => setTimeout(r, 800));
    expect((await api('/api/incidents')).data).toHaveLength(1);
    expect(receiver.got).toHaveLength(1);
    expect(receiver.got[0]!.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(receiver.got[0]!.body).digest('hex')}`);
    expect(JSON.parse(receiver.got[0]!.body)).toMatchObject({ incident: incidents[0].id, monitor: 'bot-errors', url: `${gw.url}/api/incidents/${incidents[0].id}` });
    // The secret is never in what the API shows.
    expect(JSON.stringify(await api('/api/monitors'))).not.toContain(SECRET);
  });

  it('sluice incidents lists, acknowledges and resolves through the server; a bad id is exit 2', async () => {
    const env = { SLUICE_CONFIG: join(root, 'sluice.yaml'), SLUICE_DATA_DIR: join(root, 'data') };
    const [open] = (await api('/api/incidents?status=open')).data as Array<{ id: string }>;
    expect(open).toBeDefined();
    const listed = await sluice(['incidents', '--status', 'open'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(open!.id);
    expect(listed.stdout).toContain('bot-errors');
    const acked = await sluice(['incidents', 'ack', open!.id], env);
    expect(acked.code, acked.stderr).toBe(0);
    expect(acked.stdout).toContain('acknowledged');
    const resolved = await sluice(['incidents', 'resolve', open!.id], env);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect((await api(`/api/incidents/${open!.id}`)).status).toBe('resolved');
    const bad = await sluice(['incidents', 'ack', 'not-an-id'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not an incident id');
  }, 60_000);
});
