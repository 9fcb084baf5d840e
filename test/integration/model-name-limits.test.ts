import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallLog, type CallLog } from '../../gateway/calls/call-log.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { MAX_MODEL_NAME_CHARS } from '../../gateway/pipeline/model-name.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * Issue 14, item 5: a model-name memo kept 10,000 entries of any size (60 requests with a 2 MB
 * model name grew the heap by 120 MB). Every face now refuses a name over 400 characters with a
 * 400 naming `model`, and the memos keyed by names are bounded by bytes (their unit tests). The
 * gateway runs in this process, with the real call log, so the heap measured is the gateway's.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;
const MODEL = 'up/gpt-4o-mini';

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** A distinct 1 MB model name (distinct, so a memo keyed by names would keep every one). */
const hugeName = (i: number): string => `up/${String(i).padStart(8, '0')}${'m'.repeat(MB - 11)}`;

describe('model names on every face', () => {
  let fake: FakeProvider;
  let database: Database;
  let callLog: CallLog;
  let dataDir: string;
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fake = await startFakeProvider();
    const raw = { providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } } };
    database = await openDatabase({});
    await database.migrate();
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-model-names-'));
    callLog = await startCallLog(parseConfig(raw, {}), database, { dataDir, logger: silentLogger });
    gw = await startTestGateway({ config: raw, database, calls: callLog.sink });
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await callLog.stop();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
    await fake.close();
  });

  /** One request per face with this model name; each settles to the error it raised, or null. */
  const faces: Record<string, (model: string) => Promise<unknown>> = {
    'chat completions': (model) => openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
    embeddings: (model) => openai.embeddings.create({ model, input: 'hi' }),
    responses: (model) => openai.responses.create({ model, input: 'hi' }),
    messages: (model) => anthropic.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    count_tokens: (model) => anthropic.messages.countTokens({ model, messages: [{ role: 'user', content: 'hi' }] }),
  };
  const failureOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (err: unknown) => err);

  /** The 400 every face must answer, in that face's own error shape, naming `model`. */
  function expectModelRejected(face: string, err: unknown): void {
    expect(err, face).toBeInstanceOf(Error);
    const e = err as { status?: number; error?: unknown; param?: unknown; message: string };
    expect(e.status, face).toBe(400);
    if (err instanceof OpenAI.APIError) {
      expect(e.param, face).toBe('model');
    } else {
      expect(err, face).toBeInstanceOf(Anthropic.APIError);
      expect(e.error, face).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
    expect(e.message, face).toContain(`'model': must be at most ${MAX_MODEL_NAME_CHARS} characters`);
  }

  it.each(Object.keys(faces))('%s: a name over 400 characters is a 400 naming model', async (face) => {
    expectModelRejected(face, await failureOf(faces[face]!(`up/${'m'.repeat(MAX_MODEL_NAME_CHARS - 2)}`)));
  });

  it.each(Object.keys(faces))('%s: a name of exactly 400 characters is not refused for its length', async (face) => {
    const err = await failureOf(faces[face]!(`up/${'m'.repeat(MAX_MODEL_NAME_CHARS - 3)}`));
    if (err !== null) expect((err as { status?: number }).status, face).not.toBe(400);
  });

  it('prompt names and labels are bounded too: 400 naming the field, in body and header', async () => {
    const long = 'p'.repeat(129);
    const viaBody = await failureOf(
      openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], prompt: { id: long } } as never),
    );
    expect(viaBody).toBeInstanceOf(OpenAI.APIError);
    expect(viaBody).toMatchObject({ status: 400, param: 'prompt.id' });
    const viaHeader = await failureOf(
      openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sluice-prompt': `${long}@prod` } }),
    );
    expect(viaHeader).toMatchObject({ status: 400, param: 'x-sluice-prompt' });
    const badLabel = await failureOf(
      openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sluice-prompt': `ok@${'L'.repeat(10)}` } }),
    );
    expect(badLabel).toMatchObject({ status: 400, param: 'x-sluice-prompt' });
    expect((badLabel as Error).message).toContain('Invalid label');
    // A valid name that does not exist is still the 404 it was.
    const unknown = await failureOf(
      openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sluice-prompt': 'no-such-prompt' } }),
    );
    expect(unknown).toMatchObject({ status: 404 });
  });

  it('500 requests with 1 MB model names, across all faces: 400s, and the heap stays within 50 MB', async () => {
    const names = Object.keys(faces);
    // Warm-up: first use of each face loads schemas, SDK code paths and pools.
    for (let i = 0; i < 10; i++) expectModelRejected('warm-up', await failureOf(faces[names[i % names.length]!]!(hugeName(-1 - i))));
    await drained(callLog);
    const before = heapAfterGc();

    let rejected = 0;
    for (let i = 0; i < 500; i += 5) {
      const batch = Array.from({ length: 5 }, (_, j) => {
        const face = names[(i + j) % names.length]!;
        return failureOf(faces[face]!(hugeName(i + j))).then((err) => {
          expectModelRejected(face, err);
          rejected++;
        });
      });
      await Promise.all(batch);
    }
    expect(rejected).toBe(500);
    await drained(callLog);
    const grown = heapAfterGc() - before;
    expect(grown / MB).toBeLessThan(50);
    // 500 MB of request bodies through the SDKs: 17–19 s alone on 2 cores, past the default 30 s
    // under the full suite's parallel load on a slow night (nothing here is timed).
  }, 120_000);

  it('1,000 distinct names under the limit that resolve: answered, and the heap stays within 50 MB', async () => {
    const name = (i: number) => `up/${String(i).padStart(6, '0')}${'n'.repeat(MAX_MODEL_NAME_CHARS - 9)}`;
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'warm' }] });
    await drained(callLog);
    const before = heapAfterGc();
    for (let i = 0; i < 1_000; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, j) => {
          const res = await openai.chat.completions.create({ model: name(i + j), messages: [{ role: 'user', content: 'hi' }] });
          expect(res.choices[0]?.message.content).toContain('hi');
        }),
      );
    }
    await drained(callLog);
    expect((heapAfterGc() - before) / MB).toBeLessThan(50);
  });
});

/** Waits until the call log has written everything queued (records hold the request bodies). */
async function drained(callLog: CallLog): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stats = callLog.stats() as { queued?: number };
    if (!stats.queued) return;
    if (Date.now() > deadline) throw new Error(`call log still has ${String(stats.queued)} records queued`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
