import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { SluiceEnv } from '../gateway/config/env.ts';
import { loadConfig } from '../gateway/config/load.ts';
import type { SluiceConfig } from '../gateway/config/schema.ts';
import type { Database } from '../gateway/db/client.ts';
import type { Logger } from '../gateway/logger.ts';
import type { Providers } from '../gateway/providers/registry.ts';
import { composeGateway } from '../gateway/server.ts';
import { PromptError, type PromptStore } from '../prompts/index.ts';
import type { JudgePromptContent } from './scorers/judge-prompts.ts';

/**
 * How eval calls reach a model. By default the gateway app is built in-process from the same
 * config as the server (gateway/server.ts's composition, without listening) and called with
 * `app.fetch`, so every eval call takes the full pipeline: routes, prompts, cache, logging.
 * `--gateway URL --key K` sends them to a running gateway through the official OpenAI SDK.
 */
export interface ChatResult {
  ok: boolean;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  text: string | null;
  error: string | null;
  callId: string | null;
  latencyMs: number;
  costUsd: number | null;
  /** `name@version` the gateway applied (x-sluice-prompt-version). */
  promptVersion: string | null;
  /** x-sluice-cache: hit | miss | bypass. */
  cache: string | null;
  retryAfterMs: number | null;
}

export interface GatewayClient {
  readonly kind: 'in-process' | 'remote';
  chat(body: Record<string, unknown>, headers: Record<string, string>): Promise<ChatResult>;
  /** Creates the prompt with `content` as version 1 when the registry has no such prompt. */
  ensurePrompt(name: string, content: JudgePromptContent): Promise<void>;
  close(): Promise<void>;
}

function resultFrom(status: number, body: unknown, headers: Headers, latencyMs: number): ChatResult {
  const b = (body ?? {}) as { choices?: Array<{ message?: { content?: unknown } }>; error?: { message?: string } };
  const content = b.choices?.[0]?.message?.content;
  const cache = headers.get('x-sluice-cache');
  // A cache hit is free, but what the answer costs to produce is the original call's price: that
  // is what a cost comparison between targets means, and it keeps re-runs reproducible.
  const cost = cache === 'hit' ? headers.get('x-sluice-cost-saved-usd') : headers.get('x-sluice-cost-usd');
  const retryAfter = headers.get('retry-after');
  const ok = status >= 200 && status < 300;
  return {
    ok,
    status,
    text: typeof content === 'string' ? content : null,
    error: ok ? null : (b.error?.message ?? `HTTP ${status}`),
    callId: headers.get('x-sluice-call-id'),
    latencyMs,
    costUsd: cost === null || cost === '' || Number.isNaN(Number(cost)) ? null : Number(cost),
    promptVersion: headers.get('x-sluice-prompt-version'),
    cache,
    retryAfterMs: retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : null,
  };
}

async function ensureInStore(store: PromptStore, name: string, content: JudgePromptContent, actor: string): Promise<void> {
  try {
    const p = await store.getPrompt(name);
    if (p.latestVersion !== null) return;
  } catch (err) {
    if (!(err instanceof PromptError && err.code === 'not_found')) throw err;
    try {
      await store.createPrompt(name, content.description, actor);
    } catch (e) {
      if (!(e instanceof PromptError && e.code === 'conflict')) throw e; // another worker made it
    }
  }
  const latest = (await store.getPrompt(name)).latestVersion;
  if (latest === null) {
    await store.createVersion(name, { messages: content.messages, model: null, params: {}, variables: content.variables }, actor, 'created by sluice evals');
  }
}

export interface InProcessOptions {
  env: SluiceEnv;
  database: Database;
  logger: Logger;
  /** Parsed config instead of loading SLUICE_CONFIG (tests). */
  config?: SluiceConfig;
  providers?: Providers;
}

/** The gateway app built in-process, as gateway/server.ts builds it, but never listening. */
export async function inProcessGateway(opts: InProcessOptions): Promise<GatewayClient> {
  const { env, database, logger } = opts;
  const config = opts.config ?? loadConfig(env.vars);
  // A key only this process knows, unless an admin key is configured anyway.
  const key = env.SLUICE_ADMIN_KEY ?? `sk-sluice-eval-${randomBytes(24).toString('hex')}`;
  const { app, services, close } = await composeGateway({ config, database, env, logger, adminKey: key, providers: opts.providers });
  return {
    kind: 'in-process',
    async chat(body, headers) {
      const t0 = performance.now();
      try {
        const res = await app.fetch(
          new Request('http://sluice.local/v1/chat/completions', {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          }),
        );
        const json = (await res.json().catch(() => null)) as unknown;
        return resultFrom(res.status, json, res.headers, performance.now() - t0);
      } catch (err) {
        return { ...resultFrom(0, null, new Headers(), performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
      }
    },
    ensurePrompt: (name, content) => ensureInStore(services.prompts.store, name, content, 'sluice-evals'),
    close,
  };
}

/** A running gateway, through the official OpenAI SDK (and its admin API for judge prompts). */
export function remoteGateway(url: string, key: string): GatewayClient {
  const base = url.replace(/\/+$/, '').replace(/\/v1$/, '');
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${base}/api/prompts${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
  return {
    kind: 'remote',
    async chat(body, headers) {
      const t0 = performance.now();
      try {
        const { data, response } = await client.chat.completions
          .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { headers })
          .withResponse();
        return resultFrom(response.status, data, response.headers, performance.now() - t0);
      } catch (err) {
        if (err instanceof OpenAI.APIError) {
          const headers = new Headers();
          for (const [k, v] of Object.entries(err.headers ?? {})) if (typeof v === 'string') headers.set(k, v);
          return { ...resultFrom(err.status ?? 0, { error: { message: err.message } }, headers, performance.now() - t0) };
        }
        return { ...resultFrom(0, null, new Headers(), performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
      }
    },
    async ensurePrompt(name, content) {
      const got = await admin(`/${encodeURIComponent(name)}`);
      if (got.ok) {
        const p = (await got.json()) as { latest_version?: number | null; latestVersion?: number | null };
        if ((p.latest_version ?? p.latestVersion ?? null) !== null) return;
      } else if (got.status === 404) {
        const made = await admin('', { method: 'POST', body: JSON.stringify({ name, description: content.description }) });
        if (!made.ok && made.status !== 409) throw new Error(`cannot create judge prompt ${name}: HTTP ${made.status}`);
      } else {
        throw new Error(`cannot read judge prompt ${name}: HTTP ${got.status} (the --key needs admin scope)`);
      }
      const v = await admin(`/${encodeURIComponent(name)}/versions`, {
        method: 'POST',
        body: JSON.stringify({ messages: content.messages, variables: content.variables, message: 'created by sluice evals' }),
      });
      if (!v.ok) throw new Error(`cannot create judge prompt ${name}: HTTP ${v.status}`);
    },
    async close() {},
  };
}
