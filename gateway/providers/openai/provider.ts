import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { upstreamEvents } from '../../streaming/upstream-events.ts';
import { clientFor, parseUpstreamJson, postJson, startStream } from '../provider-http.ts';
import type { ChatStream, Provider, ProviderFactory, StreamChunk } from '../types.ts';
import { usageFromOpenAI } from '../usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import type { UpstreamClient, UpstreamResponse } from '../upstream-client.ts';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * OpenAI and every OpenAI-compatible upstream (vLLM, Ollama, Groq, Together, …): the wire
 * format is ours already, so bodies pass through with only `model` replaced.
 */
export const createOpenAIProvider: ProviderFactory = (name, config) => {
  const baseUrl = config.base_url ?? OPENAI_BASE_URL;
  const client = clientFor(name, config, baseUrl, config.api_key ? { authorization: `Bearer ${config.api_key}` } : {});

  const provider: Provider = {
    name,
    type: config.type,
    config,
    async chat({ chat }, model, ctx) {
      const { text, json } = await postJson(client, name, '/chat/completions', { ...chat, model, stream: false }, ctx.signal, ctx.trace);
      if (!Array.isArray(json.choices)) {
        throw new GatewayError('upstream_bad_response', `provider ${name} returned a chat completion without choices`, { provider: name });
      }
      return { text, body: json, usage: usageFromOpenAI(json.usage as Parameters<typeof usageFromOpenAI>[0]) };
    },
    async chatStream({ chat }, model, ctx) {
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
