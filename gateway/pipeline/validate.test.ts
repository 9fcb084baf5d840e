import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.ts';
import { chatRequestSchema, embeddingsRequestSchema } from './chat-schema.ts';
import { paramPath, validate } from './validate.ts';

const user = { role: 'user', content: 'hi' };
const ok = { model: 'openai/gpt-4o-mini', messages: [user] };

/** The 400 a chat body gives: its param and message. */
function rejectChat(body: unknown): { param: string | null; message: string } {
  return rejected(() => validate(chatRequestSchema, body));
}

function rejected(fn: () => unknown): { param: string | null; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect(e.code).toBe('invalid_request');
    expect(e.status).toBe(400);
    // Shown to the client as is.
    expect(e.publicMessage).toBe(e.message);
    return { param: e.param, message: e.message };
  }
  throw new Error('expected a 400, the body was accepted');
}

describe('paramPath', () => {
  it('writes paths the way OpenAI does in error.param', () => {
    expect(paramPath([])).toBe('');
    expect(paramPath(['temperature'])).toBe('temperature');
    expect(paramPath(['messages', 1, 'role'])).toBe('messages[1].role');
    expect(paramPath(['messages', 0, 'content', 2, 'image_url', 'url'])).toBe('messages[0].content[2].image_url.url');
    expect(paramPath(['input', 0, 3])).toBe('input[0][3]');
    expect(paramPath([0, 'a'])).toBe('[0].a');
  });
});

describe('validate', () => {
  it('returns the parsed value when it is valid', () => {
    const schema = z.object({ a: z.number().default(1) });
    expect(validate(schema, {})).toEqual({ a: 1 });
  });

  it('names the request body when the problem is at the root', () => {
    const r = rejectChat('a string');
    expect(r.param).toBeNull();
    expect(r.message).toBe('Invalid value for the request body: Invalid input: expected object, received string');
  });
});

describe('chat request validation', () => {
  it('accepts a full-featured request and keeps every field', () => {
    const body = {
      model: 'openai/gpt-4o',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'system', content: [{ type: 'text', text: 'Really brief.' }], name: 'ops' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
            { type: 'file', file: { file_id: 'file-1' } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"q":1}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
        { role: 'function', name: 'legacy', content: null },
        { role: 'assistant', content: 'Done.' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      n: 2,
      temperature: 0,
      top_p: 1,
      max_completion_tokens: 50,
      stop: ['\n\n', 'END'],
      seed: 42,
      logprobs: true,
      top_logprobs: 3,
      presence_penalty: -2,
      frequency_penalty: 2,
      tools: [{ type: 'function', function: { name: 'look_up-2', description: 'd', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'look_up-2' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      user: 'u-1',
      metadata: { team: 'support' },
    };
    expect(validate(chatRequestSchema, body)).toEqual(body);
  });

  it('accepts the nulls OpenAI SDKs send for optional parameters', () => {
    const body = { ...ok, temperature: null, top_p: null, n: null, stop: null, seed: null, max_tokens: null, stream: null, metadata: null };
    expect(validate(chatRequestSchema, body)).toEqual(body);
  });

  it('passes unknown fields through untouched, at every level', () => {
    const body = {
      ...ok,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }], future_field: 1 }],
      reasoning_effort: 'low',
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'wav' },
      prediction: { type: 'content', content: 'draft' },
      web_search_options: {},
      store: true,
      service_tier: 'flex',
      prompt: { id: 'support', label: 'production', variables: { name: 'Ada' } },
      tools: [{ type: 'function', function: { name: 'f', brand_new: true }, extra: 'kept' }],
      response_format: { type: 'json_object', extra: 1 },
    };
    expect(validate(chatRequestSchema, body)).toEqual(body);
  });

  it('model: missing, empty or not a string', () => {
    expect(rejectChat({ messages: [user] })).toEqual({
      param: 'model',
      message: "Invalid value for 'model': Invalid input: expected string, received undefined",
    });
    expect(rejectChat({ ...ok, model: '' }).param).toBe('model');
    expect(rejectChat({ ...ok, model: 4 }).param).toBe('model');
  });

  it('messages: missing, empty, not an array', () => {
    expect(rejectChat({ model: 'm' }).param).toBe('messages');
    const empty = rejectChat({ ...ok, messages: [] });
    expect(empty.param).toBe('messages');
    expect(empty.message).toContain('>=1');
    expect(rejectChat({ ...ok, messages: user }).param).toBe('messages');
  });

  it('an unknown or missing role names messages[i].role and lists the valid ones', () => {
    const r = rejectChat({ ...ok, messages: [user, { role: 'wizard', content: 'b' }] });
    expect(r.param).toBe('messages[1].role');
    expect(r.message).toMatch(/^Invalid value for 'messages\[1\]\.role': /);
    for (const role of ['system', 'developer', 'user', 'assistant', 'tool', 'function']) expect(r.message).toContain(`'${role}'`);
    expect(rejectChat({ ...ok, messages: [{ content: 'no role' }] }).param).toBe('messages[0].role');
  });

  it('message content of the wrong type, and a bad content part', () => {
    expect(rejectChat({ ...ok, messages: [{ role: 'user', content: 5 }] }).param).toBe('messages[0].content');
    expect(rejectChat({ ...ok, messages: [{ role: 'user' }] }).param).toBe('messages[0].content');
    const part = rejectChat({ ...ok, messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] });
    expect(part.param).toBe('messages[0].content[0].type');
    expect(part.message).toContain("'image_url'");
    const url = rejectChat({
      ...ok,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: '' } }] }],
    });
    expect(url.param).toBe('messages[0].content[1].image_url.url');
    const detail = rejectChat({ ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'u', detail: 'max' } }] }] });
    expect(detail.param).toBe('messages[0].content[0].image_url.detail');
    expect(rejectChat({ ...ok, messages: [{ role: 'user', content: [{ type: 'text' }] }] }).param).toBe('messages[0].content[0].text');
  });

  it('tool messages need tool_call_id; assistant tool calls need string arguments', () => {
    expect(rejectChat({ ...ok, messages: [{ role: 'tool', content: 'x' }] }).param).toBe('messages[0].tool_call_id');
    const args = rejectChat({
      ...ok,
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: { q: 1 } } }] }],
    });
    expect(args).toEqual({
      param: 'messages[0].tool_calls[0].function.arguments',
      message: "Invalid value for 'messages[0].tool_calls[0].function.arguments': Invalid input: expected string, received object",
    });
    // A user message's content may not be null (only an assistant's may).
    expect(rejectChat({ ...ok, messages: [{ role: 'user', content: null }] }).param).toBe('messages[0].content');
  });

  it('a tool name with spaces names tools[i].function.name and the allowed characters', () => {
    const r = rejectChat({ ...ok, tools: [{ type: 'function', function: { name: 'ok_tool' } }, { type: 'function', function: { name: 'get weather' } }] });
    expect(r).toEqual({
      param: 'tools[1].function.name',
      message: "Invalid value for 'tools[1].function.name': must be 1-64 characters of a-z, A-Z, 0-9, _ or -",
    });
    expect(rejectChat({ ...ok, tools: [{ type: 'function', function: { name: 'x'.repeat(65) } }] }).param).toBe('tools[0].function.name');
    expect(rejectChat({ ...ok, tools: [{ type: 'function', function: {} }] }).param).toBe('tools[0].function.name');
    expect(rejectChat({ ...ok, tools: [{ type: 'retrieval' }] }).param).toBe('tools[0].type');
    expect(rejectChat({ ...ok, tools: [{ type: 'function', function: { name: 'f', parameters: 'object' } }] }).param).toBe(
      'tools[0].function.parameters',
    );
  });

  it('numbers out of range or of the wrong type name the parameter and the limit', () => {
    expect(rejectChat({ ...ok, temperature: 3 })).toEqual({
      param: 'temperature',
      message: "Invalid value for 'temperature': Too big: expected number to be <=2",
    });
    expect(rejectChat({ ...ok, temperature: 'hot' }).message).toBe("Invalid value for 'temperature': Invalid input: expected number, received string");
    expect(rejectChat({ ...ok, temperature: -0.1 }).param).toBe('temperature');
    expect(rejectChat({ ...ok, top_p: 1.5 }).param).toBe('top_p');
    expect(rejectChat({ ...ok, n: 0 }).param).toBe('n');
    expect(rejectChat({ ...ok, n: 1.5 }).param).toBe('n');
    expect(rejectChat({ ...ok, max_tokens: 0 }).param).toBe('max_tokens');
    expect(rejectChat({ ...ok, max_completion_tokens: -1 }).param).toBe('max_completion_tokens');
    expect(rejectChat({ ...ok, top_logprobs: 21 }).param).toBe('top_logprobs');
    expect(rejectChat({ ...ok, presence_penalty: 2.5 }).param).toBe('presence_penalty');
    expect(rejectChat({ ...ok, seed: 1.1 }).param).toBe('seed');
    expect(rejectChat({ ...ok, stream: 'true' }).param).toBe('stream');
  });

  it('response_format: unknown type, json_schema without its schema object', () => {
    const type = rejectChat({ ...ok, response_format: { type: 'xml' } });
    expect(type.param).toBe('response_format.type');
    expect(type.message).toContain("'json_schema'");
    expect(rejectChat({ ...ok, response_format: { type: 'json_schema' } }).param).toBe('response_format.json_schema');
    expect(rejectChat({ ...ok, response_format: { type: 'json_schema', json_schema: { schema: {} } } }).param).toBe(
      'response_format.json_schema.name',
    );
    expect(rejectChat({ ...ok, response_format: 'json' }).param).toBe('response_format');
  });

  it('tool_choice, stop, metadata and stream_options', () => {
    expect(rejectChat({ ...ok, tool_choice: 'sometimes' }).param).toBe('tool_choice');
    expect(rejectChat({ ...ok, tool_choice: { type: 'function', function: {} } }).param).toBe('tool_choice.function.name');
    expect(rejectChat({ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }).param).toBe('stop');
    expect(rejectChat({ ...ok, stop: 7 }).param).toBe('stop');
    expect(rejectChat({ ...ok, metadata: { team: 1 } })).toEqual({
      param: 'metadata.team',
      message: "Invalid value for 'metadata.team': Invalid input: expected string, received number",
    });
    expect(rejectChat({ ...ok, stream_options: { include_usage: 'yes' } }).param).toBe('stream_options.include_usage');
    expect(rejectChat({ ...ok, user: 12 }).param).toBe('user');
  });
});

describe('embeddings request validation', () => {
  const validateEmb = (body: unknown) => validate(embeddingsRequestSchema, body);

  it('accepts strings, string arrays, token arrays and arrays of token arrays, with unknown fields kept', () => {
    for (const input of ['x', ['a', 'b'], [1, 2, 3], [[1], [2, 3]]]) {
      const body = { model: 'openai/text-embedding-3-small', input, encoding_format: 'base64', dimensions: 256, extra: true };
      expect(validateEmb(body)).toEqual(body);
    }
  });

  it('names the field of a bad embeddings request', () => {
    expect(rejected(() => validateEmb({ model: 'e' })).param).toBe('input');
    expect(rejected(() => validateEmb({ model: 'e', input: [] })).param).toBe('input');
    expect(rejected(() => validateEmb({ model: 'e', input: 'x', encoding_format: 'int8' }))).toEqual({
      param: 'encoding_format',
      message: `Invalid value for 'encoding_format': Invalid option: expected one of "float"|"base64"`,
    });
    expect(rejected(() => validateEmb({ model: 'e', input: 'x', dimensions: 0 })).param).toBe('dimensions');
    expect(rejected(() => validateEmb({ input: 'x' })).param).toBe('model');
  });
});
