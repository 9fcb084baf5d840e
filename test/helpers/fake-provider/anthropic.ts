/** Anthropic wire format: messages (plain + SSE), count_tokens, models, errors. */
import type {
  ContentBlock,
  Message,
  RawMessageStreamEvent,
  TextBlock,
  ToolUseBlock,
  Usage,
} from '@anthropic-ai/sdk/resources/messages';
import type { HandlerContext, JsonPlan, Plan } from './types.ts';
import { sampleJson } from './json-sample.ts';
import { contentText, countWords, finishText, fragments, isRecord, optNumber, randomId, sse, stopList, wordPieces } from './text.ts';

const MODEL_CREATED_AT = '2025-01-01T00:00:00Z';

const ANTHROPIC_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** `{"type":"error","error":{"type","message"}}` */
export function anthropicErrorBody(status: number, message: string, type?: string): { type: 'error'; error: { type: string; message: string } } {
  const t = type ?? ANTHROPIC_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type: t, message } };
}

export function anthropicError(status: number, message: string, type?: string): JsonPlan {
  return { kind: 'json', status, body: anthropicErrorBody(status, message, type) };
}

export function anthropicAuthError(provided: string | undefined): JsonPlan {
  return anthropicError(401, provided ? 'invalid x-api-key' : 'x-api-key header is required', 'authentication_error');
}

/** Text of text blocks and of tool_result contents (used for counting prompt words). */
function allText(content: unknown): string {
  if (!Array.isArray(content)) return contentText(content);
  const parts: string[] = [];
  for (const b of content) {
    if (!isRecord(b)) continue;
    if (b['type'] === 'text' && typeof b['text'] === 'string') parts.push(b['text']);
    else if (b['type'] === 'tool_result') parts.push(contentText(b['content']));
  }
  return parts.join(' ');
}

function toolResults(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content.filter((b) => isRecord(b) && b['type'] === 'tool_result').map((b) => contentText((b as Record<string, unknown>)['content']));
}

interface Validated {
  model: string;
  messages: Array<Record<string, unknown>>;
  promptTokens: number;
}

function validate(body: unknown, needMaxTokens: boolean): Validated | JsonPlan {
  if (!isRecord(body)) return anthropicError(400, 'Request body must be a JSON object');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') return anthropicError(400, 'model: Field required');
  if (needMaxTokens && typeof body['max_tokens'] !== 'number') return anthropicError(400, 'max_tokens: Field required');
  const raw = body['messages'];
  if (!Array.isArray(raw)) return anthropicError(400, 'messages: Field required');
  if (raw.length === 0) return anthropicError(400, 'messages: at least one message is required');
  const messages = raw.filter(isRecord);
  if (messages.length !== raw.length || messages.some((m) => m['role'] !== 'user' && m['role'] !== 'assistant')) {
    return anthropicError(400, "messages: each message must be an object with role 'user' or 'assistant'");
  }
  const system = contentText(body['system']);
  let promptTokens = system.trim() ? countWords(system) + 1 : 0;
  for (const m of messages) promptTokens += countWords(allText(m['content'])) + 1;
  return { model, messages, promptTokens };
}

export function countTokens(body: unknown): Plan {
  const v = validate(body, false);
  if ('kind' in v) return v;
  return { kind: 'json', status: 200, body: { input_tokens: v.promptTokens } };
}

export function messages(body: unknown, ctx: HandlerContext): Plan {
  const v = validate(body, true);
  if ('kind' in v) return v;
  const b = body as Record<string, unknown>;
  const { model, messages: msgs, promptTokens } = v;
  const last = msgs[msgs.length - 1];
  const lastResults = last?.['role'] === 'user' ? toolResults(last['content']) : [];
  const lastUserMsg = [...msgs].reverse().find((m) => m['role'] === 'user');
  const lastUserText = lastUserMsg ? contentText(lastUserMsg['content']) : '';

  const tools = Array.isArray(b['tools']) ? b['tools'] : [];
  const tc = isRecord(b['tool_choice']) ? b['tool_choice'] : undefined;
  const replyText = (): string =>
    ctx.reply ? ctx.reply(body) : lastResults.length > 0 ? 'Tool said: ' + lastResults.join(' ') : 'Echo: ' + lastUserText;
  // Structured outputs: honoured unless this fake plays a model without them (then ignored: plain text).
  const format = isRecord(b['output_config']) && isRecord(b['output_config']['format']) ? b['output_config']['format'] : undefined;
  const schema = ctx.anthropicJson === 'structured_outputs' && format?.['type'] === 'json_schema' ? format['schema'] : undefined;
  const content: ContentBlock[] = [];
  let stopReason: Message['stop_reason'];
  let stopSequence: string | null = null;
  let outputTokens = 0;

  if (tools.length > 0 && tc?.['type'] !== 'none' && last?.['role'] === 'user' && lastResults.length === 0) {
    const names = tools.map((t) => (isRecord(t) && typeof t['name'] === 'string' ? t['name'] : undefined)).filter((n): n is string => n !== undefined);
    let callNames: string[];
    const scripted = ctx.toolCalls?.(body);
    if (scripted) callNames = scripted.map((c) => c.name);
    else if (tc?.['type'] === 'tool' && typeof tc['name'] === 'string') callNames = [tc['name']];
    else if (tc?.['disable_parallel_tool_use'] !== true && names.length >= 2) callNames = names.slice(0, 2);
    else callNames = names.slice(0, 1);
    const schemaOf = (name: string): unknown => {
      const tool = tools.find((t) => isRecord(t) && t['name'] === name);
      return isRecord(tool) ? tool['input_schema'] : undefined;
    };
    for (const [k, name] of callNames.entries()) {
      const input = scripted ? scripted[k]!.input : (sampleJson(schemaOf(name), lastUserText, replyText()) as Record<string, unknown>);
      const block: ToolUseBlock = { type: 'tool_use', id: `toolu_${ctx.nextToolId()}`, name, input, caller: { type: 'direct' } };
      content.push(block);
      outputTokens += countWords(JSON.stringify(block.input));
    }
    stopReason = 'tool_use';
  } else {
    const base = schema !== undefined ? JSON.stringify(sampleJson(schema, lastUserText, replyText())) : replyText();
    const fin = finishText(base, stopList(b['stop_sequences']), optNumber(b['max_tokens']));
    const block: TextBlock = { type: 'text', text: fin.text, citations: null };
    content.push(block);
    outputTokens = countWords(fin.text);
    stopReason = fin.reason === 'length' ? 'max_tokens' : fin.reason === 'stop' ? 'stop_sequence' : 'end_turn';
    stopSequence = fin.reason === 'stop' ? fin.stopSequence : null;
  }

  const u = ctx.usage ?? {};
  const usage: Usage = {
    input_tokens: u.prompt ?? promptTokens,
    output_tokens: u.completion ?? outputTokens,
    cache_creation_input_tokens: u.cacheWrite ?? 0,
    cache_read_input_tokens: u.cached ?? 0,
    cache_creation: null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
    output_tokens_details: u.reasoning !== undefined ? { thinking_tokens: u.reasoning } : null,
    speed: null,
  };
  const message: Message = {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage,
  };
  if (b['stream'] === true) return messageStream(message);
  return { kind: 'json', status: 200, body: message };
}

function messageStream(message: Message): Plan {
  const events: string[] = [];
  let firstContentIndex = -1;
  const push = (e: RawMessageStreamEvent | { type: 'ping' }, content = false): void => {
    if (content && firstContentIndex < 0) firstContentIndex = events.length;
    events.push(sse(e, e.type));
  };
  push({
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 1 } },
  });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      push({ type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } });
      if (index === 0) push({ type: 'ping' });
      for (const piece of wordPieces(block.text)) push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }, true);
    } else if (block.type === 'tool_use') {
      push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      if (index === 0) push({ type: 'ping' });
      for (const frag of fragments(JSON.stringify(block.input))) {
        push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: frag } }, true);
      }
    }
    push({ type: 'content_block_stop', index });
  });
  push({
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence, stop_details: null, container: null },
    usage: {
      output_tokens: message.usage.output_tokens,
      input_tokens: message.usage.input_tokens,
      cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
      cache_read_input_tokens: message.usage.cache_read_input_tokens,
      server_tool_use: null,
      output_tokens_details: message.usage.output_tokens_details,
    },
  });
  push({ type: 'message_stop' });
  return {
    kind: 'sse',
    events,
    firstContentIndex: firstContentIndex < 0 ? 1 : firstContentIndex,
    malformedEvent: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"oops\n\n',
    errorEvent: (msg, type) => sse({ type: 'error', error: { type: type ?? 'api_error', message: msg } }, 'error'),
  };
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

const anthropicModel = (id: string) => ({ type: 'model' as const, id, display_name: id, created_at: MODEL_CREATED_AT });

export function anthropicModels(models: readonly string[]): Plan {
  const data = models.map(anthropicModel);
  return {
    kind: 'json',
    status: 200,
    body: { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null },
  };
}

export function anthropicModelGet(models: readonly string[], id: string): Plan {
  if (!models.includes(id)) return anthropicError(404, `model: ${id}`, 'not_found_error');
  return { kind: 'json', status: 200, body: anthropicModel(id) };
}
