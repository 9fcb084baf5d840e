import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors/gateway-error.ts';
import { upstreamEvents } from '../../streaming/upstream-events.ts';
import { clientFor, parseUpstreamJson, postJson, startStream } from '../provider-http.ts';
import { nativeFrameChunks } from '../native-frames.ts';
import { passThroughBody, type CallContext, type ChatStream, type JsonResult, type Provider, type ProviderFactory, type ProviderRequest, type StreamChunk } from '../types.ts';
import { usageFromAnthropic } from '../usage.ts';
import { fromAnthropicResponse } from './from-anthropic-response.ts';
import { planJsonOutput, type JsonToolAnswer } from './response-format.ts';
import { createAnthropicStreamTranslator } from './stream-translator.ts';
import { toAnthropicRequest } from './to-anthropic-request.ts';

const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
const ANTHROPIC_VERSION = '2023-06-01';
const DEFAULT_MAX_TOKENS = 4096;

function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

/**
 * Anthropic Messages API behind the OpenAI chat-completions face (translated both ways).
 * Anthropic has no `n`: the provider says so (`nativeN: false`) and the pipeline fans a request
 * for n choices out into n calls (gateway/pipeline/fan-out.ts), so `chat` and `chatStream`
 * only ever answer one choice.
 */
export const createAnthropicProvider: ProviderFactory = (name, config, deps) => {
  const baseUrl = config.base_url ?? ANTHROPIC_BASE_URL;
  const client = clientFor(name, config, baseUrl, {
    'anthropic-version': ANTHROPIC_VERSION,
    ...(config.api_key ? { 'x-api-key': config.api_key } : {}),
  });
  const defaultMaxTokens = config.default_max_tokens ?? DEFAULT_MAX_TOKENS;
  const structuredOutputs = config.structured_outputs === true;
  const created = (): number => Math.floor(deps.now() / 1000);

  /** The Messages body: the client's own when it passes through, else translated. */
  function messagesBody(req: ProviderRequest, model: string): Record<string, unknown> {
    const own = passThroughBody(provider, req);
    if (!own) return toAnthropicRequest(req.chat, { model, defaultMaxTokens, structuredOutputs }) as unknown as Record<string, unknown>;
    const { prompt: _prompt, stream: _stream, ...rest } = own;
    return { ...rest, model };
  }

  /** How the answer is read back when JSON was asked for through the reserved tool. */
  function jsonAnswer(req: ProviderRequest): JsonToolAnswer | undefined {
    if (passThroughBody(provider, req)) return undefined; // passed through: the client's own format
    const plan = planJsonOutput(req.chat, { structuredOutputs });
    return plan?.kind === 'tool' ? plan.answer : undefined;
  }

  /** The try's trace headers, plus the client's `anthropic-beta` when its body passes through. */
  function headersFor(req: ProviderRequest, ctx: CallContext): Readonly<Record<string, string>> | undefined {
    const own = passThroughBody(provider, req) ? req.native?.headers : undefined;
    return own ? { ...ctx.trace, ...own } : ctx.trace;
  }

  async function once(req: ProviderRequest, model: string, ctx: CallContext): Promise<{ message: Message; text: string }> {
    const { json, text } = await postJson(client, name, '/v1/messages', messagesBody(req, model), ctx.signal, headersFor(req, ctx));
    if (!Array.isArray(json.content)) {
      throw new GatewayError('upstream_bad_response', `provider ${name} returned a message without content`, { provider: name });
    }
    return { message: json as unknown as Message, text };
  }

  const provider: Provider = {
    name,
    type: config.type,
    config,
    nativeN: false,
    nativeFormat: 'anthropic',
    async chat(req, model, ctx) {
      const { message, text } = await once(req, model, ctx);
      const body = fromAnthropicResponse(message, { id: completionId(), created: created(), model, json: jsonAnswer(req) });
      const result: JsonResult = { text: JSON.stringify(body), body: body as unknown as Record<string, unknown>, usage: usageFromAnthropic(message.usage) };
      if (passThroughBody(provider, req)) result.native = text;
      return result;
    },
    async chatStream(req, model, ctx) {
      const passThrough = passThroughBody(provider, req) !== undefined;
      const body = { ...messagesBody(req, model), stream: true };
      const res = await startStream(client, '/v1/messages', body, ctx.signal, headersFor(req, ctx));
      const id = completionId();
      const translator = createAnthropicStreamTranslator({ id, created: created(), model, json: jsonAnswer(req) });
      /** The upstream's own words reach the client's SSE error event: no credential may ride along. */
      const pushScrubbed = (event: Parameters<typeof translator.push>[0]) => {
        try {
          return translator.push(event);
        } catch (err) {
          if (!(err instanceof GatewayError) || err.code !== 'upstream_error') throw err;
          const said = client.scrub(err.message).slice(0, 1000);
          throw new GatewayError('upstream_error', `provider ${name} failed mid-stream: ${said}`, { provider: name });
        }
      };
      async function* chunks(): AsyncGenerator<StreamChunk> {
        for await (const event of upstreamEvents(client, res, ctx.signal)) {
          // After message_stop, read on to the end of the body so the connection stays alive.
          if (translator.finished()) continue;
          const translated = pushScrubbed(event);
          if (!passThrough) {
            for (const chunk of translated) yield { data: JSON.stringify(chunk), chunk };
            continue;
          }
          // Passing through: the client gets the upstream's own frame; the chunks still feed the record.
          const frame = `event: ${event.event ?? 'message'}\ndata: ${event.data}\n\n`;
          yield* nativeFrameChunks(frame, translated, () => ({ id, object: 'chat.completion.chunk', created: created(), model, choices: [] }));
        }
        if (translator.finished()) return;
        throw new GatewayError('upstream_bad_response', `provider ${name} ended the stream before it was complete`, { provider: name });
      }
      const iterator = chunks();
      const stream: ChatStream = {
        [Symbol.asyncIterator]: () => iterator,
        usage: () => translator.usage(),
        cancel: () => res.body.destroy(),
      };
      return stream;
    },
    async embeddings() {
      throw new GatewayError('invalid_request', `provider ${name} (anthropic) has no embeddings endpoint`, { param: 'model' });
    },
    async listModels(signal) {
      const res = await client.send('GET', '/v1/models?limit=1000', undefined, signal);
      if (res.status !== 200) throw await client.failure(res, signal);
      const json = parseUpstreamJson(await client.readText(res, signal), name);
      const data = Array.isArray(json.data) ? (json.data as Array<{ id?: unknown; created_at?: unknown }>) : [];
      return data
        .filter((m) => typeof m.id === 'string')
        .map((m) => ({
          id: m.id as string,
          created: typeof m.created_at === 'string' ? Math.floor(Date.parse(m.created_at) / 1000) || 0 : 0,
          ownedBy: name,
        }));
    },
    close: () => client.close(),
  };
  return provider;
};
