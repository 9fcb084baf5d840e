/** Shared fixtures for the evals tests (not shipped behaviour). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { inProcessGateway, type GatewayClient } from '../../evals/gateway-client.ts';
import { toCallRow } from '../../gateway/calls/call-row.ts';
import { insertCallRows } from '../../gateway/calls/insert.ts';
import { compilePayloadPolicy } from '../../gateway/calls/payloads.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { sampleRecord } from './sample-record.ts';
import { parseEnv } from '../../gateway/config/env.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import type { Database } from '../../gateway/db/client.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { errorHandler } from '../../gateway/http/error-handler.ts';
import { silentLogger } from '../../gateway/logger.ts';
import type { FakeProvider } from './fake-provider.ts';

export const ADMIN = 'sk-sluice-evals-test-admin-0123456789';

export function fakeConfig(fake: FakeProvider, extra: Record<string, unknown> = {}) {
  return parseConfig(
    {
      providers: { fake: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 } } },
      logging: { flush_ms: 20 },
      ...extra,
    },
    {},
  );
}

/** An in-process gateway over the fake provider; close() drains the call log and removes its spool dir. */
export async function testClient(fake: FakeProvider, database: Database, extra: Record<string, unknown> = {}): Promise<GatewayClient> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-evals-'));
  const client = await inProcessGateway({ env: parseEnv({ SLUICE_DATA_DIR: dataDir, SLUICE_ADMIN_KEY: ADMIN }), database, logger: silentLogger, config: fakeConfig(fake, extra) });
  return {
    ...client,
    async close() {
      await client.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const lastUserText = (body: unknown): string => {
  const msgs = (body as { messages?: Array<{ role: string; content: unknown }> }).messages ?? [];
  const user = [...msgs].reverse().find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
};

const systemText = (body: unknown): string => {
  const msgs = (body as { messages?: Array<{ role: string; content: unknown }> }).messages ?? [];
  return msgs.filter((m) => m.role === 'system').map((m) => String(m.content)).join('\n');
};

/** Which judge prompt a request carries, if any. */
export function judgeKind(body: unknown): 'faithfulness' | 'hallucination' | null {
  const s = systemText(body);
  if (s.includes('fact-checker')) return 'faithfulness';
  if (s.includes('detect hallucinations')) return 'hallucination';
  return null;
}

/** The answer a judge prompt was rendered with. */
export function judgedAnswer(body: unknown): string {
  const m = /Answer:\n"""\n([\s\S]*?)\n"""/.exec(lastUserText(body));
  return m ? m[1]! : '';
}

/**
 * A deterministic judge: answers mentioning "moon" are hallucinated, and each sentence is one
 * claim, supported unless it mentions the moon. Everything else gets the default echo.
 */
export function judgeReply(body: unknown): string {
  const kind = judgeKind(body);
  const answer = judgedAnswer(body);
  if (kind === 'hallucination') {
    const bad = /moon/i.test(answer);
    return JSON.stringify({ verdict: bad ? 'hallucinated' : 'grounded', rationale: bad ? 'the moon is not in the context' : 'all supported' });
  }
  if (kind === 'faithfulness') {
    const claims = answer.split(/(?<=\.)\s+/).filter(Boolean).map((claim) => ({ claim, verdict: /moon/i.test(claim) ? 'unsupported' : 'supported', evidence: '' }));
    return '```json\n' + JSON.stringify({ claims }) + '\n```';
  }
  return `Echo: ${lastUserText(body)}`;
}

/** Writes call records straight into the call log tables. */
export async function seedCalls(database: Database, records: CallRecord[]): Promise<void> {
  const policy = compilePayloadPolicy({ enabled: true, maxBytes: 256 * 1024, redactFields: [], redactPatterns: [] });
  await insertCallRows(database, records.map((r) => toCallRow(r, policy, Date.now())));
}

/** A logged chat call answering `answer` to `question`, with RAG context recorded in the payload. */
export function loggedCall(at: Date, o: { question: string; answer: string; context?: string; route?: string; variant?: string; prompt?: [string, number]; latencyMs?: number; outputTokens?: number }): CallRecord {
  return sampleRecord(
    {
      route: o.route ?? 'support-bot',
      variant: o.variant ?? 'control',
      promptName: o.prompt?.[0] ?? null,
      promptVersion: o.prompt?.[1] ?? null,
      latencyMs: o.latencyMs ?? 400,
      usage: { inputTokens: 100, outputTokens: o.outputTokens ?? 40, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
      metadata: null,
      requestBody: { model: o.route ?? 'support-bot', messages: [{ role: 'user', content: o.question }] },
      ...(o.context
        ? { rag: { route: o.route ?? 'support-bot', retriever: 'docs', query: o.question, documents: [{ id: 'd1', collection: 'kb', score: 1, truncated: false }], injectedText: o.context, retrievalMs: 2, annotations: {} } }
        : {}),
      responseBody: { id: 'chatcmpl-x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: o.answer }, finish_reason: 'stop' }] },
    },
    at,
  );
}

/** The eval and feedback routes as the app mounts them, behind a stand-in admin key. */
export function apiApp(routes: Array<[string, Hono<AppEnv>]>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('key', { id: null, name: 'test-admin', scope: 'admin', policy: null, team: null });
    await next();
  });
  for (const [path, r] of routes) app.route(path, r);
  app.onError(errorHandler(silentLogger));
  return app;
}
