/** OpenAI wire format: chat completions (plain + SSE), embeddings, models, errors. */
import { createHash } from 'node:crypto';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionTokenLogprob,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { HandlerContext, JsonPlan, Plan } from './types.ts';
import { contentText, countWords, finishText, fragments, isRecord, optNumber, randomId, sse, stopList, wordPieces } from './text.ts';

export const SYSTEM_FINGERPRINT = 'fp_fake';
const MODEL_CREATED = 1_700_000_000;

const OPENAI_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** `{"error":{"message","type","param","code"}}` */
export function openaiErrorBody(
  status: number,
  message: string,
  type?: string,
  code: string | null = null,
  param: string | null = null,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const t = type ?? OPENAI_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  return { error: { message, type: t, param, code } };
}

export function openaiError(status: number, message: string, type?: string, code: string | null = null, param: string | null = null): JsonPlan {
  return { kind: 'json', status, body: openaiErrorBody(status, message, type, code, param) };
}

/** Masks a key like the real API: first 5 chars, one `*` per hidden char, last 4. */
export function maskKey(key: string): string {
  if (key.length > 9) return key.slice(0, 5) + '*'.repeat(key.length - 9) + key.slice(-4);
  if (key.length > 4) return '*'.repeat(key.length - 4) + key.slice(-4);
  return '*'.repeat(key.length);
}

export function openaiAuthError(provided: string | undefined): JsonPlan {
  if (!provided) {
    return openaiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
      'invalid_request_error',
    );
  }
  return openaiError(
    401,
    `Incorrect API key provided: ${maskKey(provided)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    'invalid_request_error',
    'invalid_api_key',
  );
}

// ---------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------

interface ChoicePlan {
  content: string | null;
  toolCalls: ChatCompletionMessageFunctionToolCall[];
  finish: 'stop' | 'length' | 'tool_calls';
}

function toolName(tool: unknown): string | undefined {
  if (!isRecord(tool)) return undefined;
  const fn = tool['function'] ?? tool['custom'];
  return isRecord(fn) && typeof fn['name'] === 'string' ? fn['name'] : undefined;
}

function logprobsFor(text: string, top: number): ChatCompletionTokenLogprob[] {
  return wordPieces(text).map((token, i) => {
    const logprob = -0.01 * ((i % 9) + 1);
    const bytes = [...Buffer.from(token, 'utf8')];
    const top_logprobs: ChatCompletionTokenLogprob.TopLogprob[] = [];
    for (let k = 0; k < top; k++) {
      const alt = k === 0 ? token : `${token}~${k}`;
      top_logprobs.push({ token: alt, logprob: k === 0 ? logprob : logprob - k, bytes: [...Buffer.from(alt, 'utf8')] });
    }
    return { token, logprob, bytes, top_logprobs };
  });
}

function usageFor(prompt: number, completion: number, ctx: HandlerContext): CompletionUsage {
  const u = ctx.usage ?? {};
  const p = u.prompt ?? prompt;
  const c = u.completion ?? completion;
  return {
    prompt_tokens: p,
    completion_tokens: c,
    total_tokens: p + c,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function chatCompletions(body: unknown, ctx: HandlerContext): Plan {
  if (!isRecord(body)) return openaiError(400, 'We could not parse the JSON body of your request.');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') return openaiError(400, 'you must provide a model parameter', undefined, null, 'model');
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    return openaiError(400, "[] is too short - 'messages'", undefined, 'empty_array', 'messages');
  }
  const messages = rawMessages.filter(isRecord);
  if (messages.length !== rawMessages.length) return openaiError(400, "Invalid type for 'messages': expected objects.", undefined, null, 'messages');

  const promptTokens = messages.reduce((n, m) => n + countWords(contentText(m['content'])) + 1, 0);
  const lastUserMsg = [...messages].reverse().find((m) => m['role'] === 'user');
  const lastUserText = lastUserMsg ? contentText(lastUserMsg['content']) : '';
  const last = messages[messages.length - 1];

  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const toolChoice = body['tool_choice'];
  const wantTools = tools.length > 0 && toolChoice !== 'none' && last?.['role'] === 'user';
  let callNames: string[] = [];
  // Scripted calls (setToolCalls), when a test wants particular tools called with particular arguments.
  const scripted = wantTools ? ctx.toolCalls?.(body) : undefined;
  if (scripted) callNames = scripted.map((c) => c.name);
  else if (wantTools) {
    const named = isRecord(toolChoice) && isRecord(toolChoice['function']) ? toolChoice['function']['name'] : undefined;
    const names = tools.map(toolName).filter((n): n is string => n !== undefined);
    if (typeof named === 'string') callNames = [named];
    else if (body['parallel_tool_calls'] !== false && names.length >= 2) callNames = names.slice(0, 2);
    else callNames = names.slice(0, 1);
  }

  let baseText: string;
  if (ctx.reply) baseText = ctx.reply(body);
  else if (last?.['role'] === 'tool') {
    const trailing: string[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i]?.['role'] === 'tool'; i--) trailing.unshift(contentText(messages[i]?.['content']));
    baseText = 'Tool said: ' + trailing.join(' ');
  } else baseText = 'Echo: ' + lastUserText;

  const rf = body['response_format'];
  const jsonMode = isRecord(rf) && (rf['type'] === 'json_object' || rf['type'] === 'json_schema');
  const maxWords = optNumber(body['max_completion_tokens']) ?? optNumber(body['max_tokens']);
  const stops = stopList(body['stop']);
  const n = Math.max(1, optNumber(body['n']) ?? 1);

  const choices: ChoicePlan[] = [];
  let completionTokens = 0;
  for (let i = 0; i < n; i++) {
    if (callNames.length > 0) {
      const args = JSON.stringify({ query: lastUserText });
      const toolCalls = callNames.map(
        (name, k): ChatCompletionMessageFunctionToolCall => ({
          id: `call_${ctx.nextToolId()}`,
          type: 'function',
          function: { name, arguments: scripted ? JSON.stringify(scripted[k]!.input) : args },
        }),
      );
      completionTokens += toolCalls.reduce((k, t) => k + countWords(t.function.arguments), 0);
      choices.push({ content: null, toolCalls, finish: 'tool_calls' });
    } else {
      const fin = finishText(n > 1 ? `${baseText} #${i}` : baseText, stops, maxWords);
      const content = jsonMode ? JSON.stringify({ answer: fin.text }) : fin.text;
      completionTokens += countWords(content);
      choices.push({ content, toolCalls: [], finish: fin.reason === 'length' ? 'length' : 'stop' });
    }
  }

  const id = randomId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const usage = usageFor(promptTokens, completionTokens, ctx);
  const wantLogprobs = body['logprobs'] === true;
  const top = Math.max(0, optNumber(body['top_logprobs']) ?? 0);

  if (body['stream'] === true) {
    const so = body['stream_options'];
    const includeUsage = isRecord(so) && so['include_usage'] === true;
    return chatStream({ id, created, model, choices, usage, includeUsage, wantLogprobs, top });
  }

  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    service_tier: 'default',
    choices: choices.map((c, index) => ({
      index,
      message: {
        role: 'assistant',
        content: c.content,
        refusal: null,
        ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls } : {}),
      },
      logprobs: wantLogprobs ? { content: logprobsFor(c.content ?? '', top), refusal: null } : null,
      finish_reason: c.finish,
    })),
    usage,
  };
  return { kind: 'json', status: 200, body: completion };
}

interface StreamInput {
  id: string;
  created: number;
  model: string;
  choices: ChoicePlan[];
  usage: CompletionUsage;
  includeUsage: boolean;
  wantLogprobs: boolean;
  top: number;
}

function chatStream(s: StreamInput): Plan {
  const events: string[] = [];
  let firstContentIndex = -1;
  const chunk = (choices: ChatCompletionChunk['choices'], usage?: CompletionUsage | null): ChatCompletionChunk => ({
    id: s.id,
    object: 'chat.completion.chunk',
    created: s.created,
    model: s.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    service_tier: 'default',
    choices,
    ...(s.includeUsage ? { usage: usage ?? null } : {}),
  });
  const push = (choice: ChatCompletionChunk.Choice, content = false): void => {
    if (content && firstContentIndex < 0) firstContentIndex = events.length;
    events.push(sse(chunk([choice])));
  };

  s.choices.forEach((c, index) => {
    const tools = c.toolCalls.length > 0;
    push({ index, delta: { role: 'assistant', content: tools ? null : '' }, logprobs: null, finish_reason: null });
    if (c.content) {
      const lps = s.wantLogprobs ? logprobsFor(c.content, s.top) : [];
      wordPieces(c.content).forEach((piece, k) => {
        const lp = lps[k];
        push({ index, delta: { content: piece }, logprobs: lp ? { content: [lp], refusal: null } : null, finish_reason: null }, true);
      });
    }
    c.toolCalls.forEach((call, k) => {
      push(
        {
          index,
          delta: { tool_calls: [{ index: k, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] },
          logprobs: null,
          finish_reason: null,
        },
        true,
      );
      for (const frag of fragments(call.function.arguments)) {
        push({ index, delta: { tool_calls: [{ index: k, function: { arguments: frag } }] }, logprobs: null, finish_reason: null }, true);
      }
    });
    push({ index, delta: {}, logprobs: null, finish_reason: c.finish });
  });
  if (s.includeUsage) events.push(sse(chunk([], s.usage)));
  events.push('data: [DONE]\n\n');

  return {
    kind: 'sse',
    events,
    firstContentIndex: firstContentIndex < 0 ? 0 : firstContentIndex,
    malformedEvent: `data: {"id":"${s.id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops\n\n`,
    errorEvent: (message, type) => sse({ error: { message, type: type ?? 'server_error', param: null, code: null } }),
  };
}

// ---------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------

/** Deterministic unit-ish vector from sha256 of the input; every value is exactly float32-representable. */
export function embeddingVector(input: string | number[], dims: number): number[] {
  const key = typeof input === 'string' ? `s:${input}` : `t:${input.join(',')}`;
  const raw: number[] = [];
  for (let block = 0; raw.length < dims; block++) {
    const h = createHash('sha256').update(`${key}#${block}`).digest();
    for (let off = 0; off + 4 <= h.length && raw.length < dims; off += 4) raw.push((h.readUInt32LE(off) / 0xffffffff) * 2 - 1);
  }
  const norm = Math.sqrt(raw.reduce((a, v) => a + v * v, 0)) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

export function float32Base64(vec: readonly number[]): string {
  const buf = Buffer.alloc(vec.length * 4);
  vec.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

export function embeddings(body: unknown, ctx: HandlerContext): Plan {
  if (!isRecord(body)) return openaiError(400, 'We could not parse the JSON body of your request.');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') return openaiError(400, 'you must provide a model parameter', undefined, null, 'model');
  const input = body['input'];
  let items: Array<string | number[]>;
  if (typeof input === 'string') items = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) items = input as string[];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'number')) items = [input as number[]];
  else if (
    Array.isArray(input) &&
    input.length > 0 &&
    input.every((x) => Array.isArray(x) && x.every((y) => typeof y === 'number'))
  )
    items = input as number[][];
  else return openaiError(400, "'input' must be a string, an array of strings, or an array of token arrays (non-empty).", undefined, null, 'input');

  const dims = optNumber(body['dimensions']) ?? ctx.embeddingDimensions;
  if (!Number.isInteger(dims) || dims < 1) return openaiError(400, 'dimensions must be a positive integer', undefined, null, 'dimensions');
  const base64 = body['encoding_format'] === 'base64';
  const tokens = items.reduce((n, it) => n + (typeof it === 'string' ? countWords(it) : it.length), 0);
  const p = ctx.usage?.prompt ?? tokens;
  const response = {
    object: 'list' as const,
    data: items.map((it, index) => {
      const vec = embeddingVector(it, dims);
      return { object: 'embedding' as const, index, embedding: base64 ? float32Base64(vec) : vec };
    }),
    model,
    usage: { prompt_tokens: p, total_tokens: p },
  };
  // With base64 the `embedding` field is a string on the wire (the SDK type describes floats).
  return { kind: 'json', status: 200, body: response as CreateEmbeddingResponse | typeof response };
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

const openaiModel = (id: string) => ({ id, object: 'model' as const, created: MODEL_CREATED, owned_by: 'fake' });

export function openaiModels(models: readonly string[]): Plan {
  return { kind: 'json', status: 200, body: { object: 'list', data: models.map(openaiModel) } };
}

export function openaiModelGet(models: readonly string[], id: string): Plan {
  if (!models.includes(id)) return openaiError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
  return { kind: 'json', status: 200, body: openaiModel(id) };
}
