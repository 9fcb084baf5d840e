import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatRequest } from '../../../core/chat.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { upstreamEvents } from '../../streaming/upstream-events.ts';
import { clientFor, parseUpstreamJson, postJson, startStream } from '../provider-http.ts';
import { nativeFrameChunks } from '../native-frames.ts';
import { passThroughBody, type CallContext, type ChatStream, type JsonResult, type Provider, type ProviderFactory, type StreamChunk } from '../types.ts';
import { randomUUID } from 'node:crypto';
import { usageFromOpenAI } from '../usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import type { UpstreamClient, UpstreamResponse } from '../upstream-client.ts';
import { withoutCacheBreakpoints } from './compat-body.ts';
import { chatFromResponse, createResponsesStreamTranslator } from './responses-native.ts';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * OpenAI and every OpenAI-compatible upstream (vLLM, Ollama, Groq, Together, …): the wire
 * format is ours already, so bodies pass through with only `model` replaced.
 *
 * An `openai` provider also speaks the Responses API: a `/v1/responses` body nothing changed
 * goes to its `/responses` as written (every tool type, reasoning, include, store,
 * previous_response_id), and its answer and events come back as sent, read on the side as a
 * chat completion for the record (responses-native.ts). OpenAI-compatible servers get the
 * translated chat request: few of them implement Responses.
 */
export const createOpenAIProvider: ProviderFactory = (name, config, deps) => {
  const baseUrl = config.base_url ?? OPENAI_BASE_URL;
  const client = clientFor(name, config, baseUrl, config.api_key ? { authorization: `Bearer ${config.api_key}` } : {});
  // Explicit cache breakpoints are OpenAI's own; other servers get the request without them.
  const wire = config.type === 'openai' ? (chat: ChatRequest) => chat : withoutCacheBreakpoints;

  const created = (): number => Math.floor(deps.now() / 1000);

  /** The client's Responses body for this upstream, with the gateway's own fields taken out. */
  function responsesBody(own: Record<string, unknown>, model: string, stream: boolean): Record<string, unknown> {
    const { prompt: _prompt, ...rest } = own;
    return { ...rest, model, stream };
  }

  async function responsesJson(own: Record<string, unknown>, model: string, ctx: CallContext): Promise<JsonResult> {
    const { text, json } = await postJson(client, name, '/responses', responsesBody(own, model, false), ctx.signal, ctx.trace);
    if (!Array.isArray(json.output)) {
      throw new GatewayError('upstream_bad_response', `provider ${name} returned a response without output`, { provider: name });
    }
    const body = chatFromResponse(json, { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: created(), model });
    return { text: JSON.stringify(body), body: body as unknown as Record<string, unknown>, usage: usageFromOpenAI(body.usage), native: text };
  }

  async function responsesStream(own: Record<string, unknown>, model: string, ctx: CallContext): Promise<ChatStream> {
    const res = await startStream(client, '/responses', responsesBody(own, model, true), ctx.signal, ctx.trace);
    const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const translator = createResponsesStreamTranslator({ id, created: created(), model, provider: name, scrub: (s) => client.scrub(s) });
    async function* chunks(): AsyncGenerator<StreamChunk> {
      for await (const event of upstreamEvents(client, res, ctx.signal)) {
        // After the final event, read on to the end of the body so the connection stays alive.
        if (translator.finished()) continue;
        const frame = `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${event.data}\n\n`;
        const translated = translator.push(event.data);
        yield* nativeFrameChunks(frame, translated, () => ({ id, object: 'chat.completion.chunk', created: created(), model, choices: [] }));
      }
      if (translator.finished()) return;
      throw new GatewayError('upstream_bad_response', `provider ${name} ended the stream before it was complete`, { provider: name });
    }
    const iterator = chunks();
    return { [Symbol.asyncIterator]: () => iterator, usage: () => translator.usage(), cancel: () => res.body.destroy() };
  }

  const provider: Provider = {
    name,
    type: config.type,
    config,
    ...(config.type === 'openai' ? { nativeFormat: 'openai-responses' as const } : {}),
    async chat(req, model, ctx) {
      const own = passThroughBody(provider, req);
      if (own) return responsesJson(own, model, ctx);
      const chat = wire(req.chat);
      const { text, json } = await postJson(client, name, '/chat/completions', { ...chat, model, stream: false }, ctx.signal, ctx.trace);
      if (!Array.isArray(json.choices)) {
        throw new GatewayError('upstream_bad_response', `provider ${name} returned a chat completion without choices`, { provider: name });
      }
      return { text, body: json, usage: usageFromOpenAI(json.usage as Parameters<typeof usageFromOpenAI>[0]) };
    },
    async chatStream(req, model, ctx) {
      const own = passThroughBody(provider, req);
      if (own) return responsesStream(own, model, ctx);
      const chat = wire(req.chat);
      // Always ask for usage so the call can be priced; the pipeline strips the usage chunk
      // again when the client did not ask for it.
      const body = { ...chat, model, stream: true, stream_options: { ...chat.stream_options, include_usage: true } };
      const res = await startStream(client, '/chat/completions', body, ctx.signal, ctx.trace);
      return openaiStream(client, name, res, ctx.signal);
    },
    async embeddings(req, model, ctx) {
      const { text, json } = await postJson(client, name, '/embeddings', { ...req, model }, ctx.signal, ctx.trace);
      const u = json.usage as { prompt_tokens?: number } | undefined;
      const usage: NormalizedUsage | null =
        typeof u?.prompt_tokens === 'number'
          ? { inputTokens: u.prompt_tokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
          : null;
      return { text, body: json, usage };
    },
    async listModels(signal) {
      const res = await client.send('GET', '/models', undefined, signal);
      if (res.status !== 200) throw await client.failure(res, signal);
      const json = parseUpstreamJson(await client.readText(res, signal), name);
      const data = Array.isArray(json.data) ? (json.data as Array<{ id?: unknown; created?: unknown; owned_by?: unknown }>) : [];
      return data
        .filter((m) => typeof m.id === 'string')
        .map((m) => ({
          id: m.id as string,
          created: typeof m.created === 'number' ? m.created : 0,
          ownedBy: typeof m.owned_by === 'string' ? m.owned_by : name,
        }));
    },
    close: () => client.close(),
  };
  return provider;
};

function openaiStream(client: UpstreamClient, provider: string, res: UpstreamResponse, signal: AbortSignal): ChatStream {
  let usage: NormalizedUsage | null = null;
  async function* chunks(): AsyncGenerator<StreamChunk> {
    let done = false;
    for await (const event of upstreamEvents(client, res, signal)) {
      // Read on to the end of the body after [DONE] rather than break: breaking destroys the
      // body and with it the keep-alive connection.
      if (done) continue;
      if (event.data === '[DONE]') {
        done = true;
        continue;
      }
      let chunk: ChatCompletionChunk & { error?: { message?: string } };
      try {
        chunk = JSON.parse(event.data) as typeof chunk;
      } catch {
        throw new GatewayError('upstream_bad_response', `provider ${provider} sent a stream event that is not valid JSON`, { provider });
      }
      if (chunk.error) {
        // The upstream's words reach the client's SSE error event: no credential may ride along.
        const said = client.scrub(String(chunk.error.message ?? 'unknown error')).slice(0, 1000);
        throw new GatewayError('upstream_error', `provider ${provider} failed mid-stream: ${said}`, { provider });
      }
      if (chunk.usage) usage = usageFromOpenAI(chunk.usage);
      yield { data: event.data, chunk };
    }
    if (!done) {
      throw new GatewayError('upstream_bad_response', `provider ${provider} ended the stream before it was complete`, { provider });
    }
  }
  const iterator = chunks();
  return {
    [Symbol.asyncIterator]: () => iterator,
    usage: () => usage,
    cancel() {
      res.body.destroy();
    },
  };
}
