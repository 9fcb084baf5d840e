import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error.ts';
import { parseResponsesRequest } from './responses-schema.ts';

const base = { model: 'gpt-4o-mini', input: 'Hi' };
const items = (...input: unknown[]) => ({ model: 'gpt-4o-mini', input });

function rejection(body: unknown): GatewayError {
  try {
    parseResponsesRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_request');
    return err as GatewayError;
  }
  throw new Error('expected a rejection');
}

describe('parseResponsesRequest', () => {
  it('accepts string input, item input with "easy" messages, and unknown fields', () => {
    expect(parseResponsesRequest({ ...base, include: ['message.output_text.logprobs'], truncation: 'auto' })).toMatchObject({ input: 'Hi' });
    const parsed = parseResponsesRequest(
      items(
        { role: 'developer', content: 'Rules.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look' }, { type: 'input_image', image_url: 'https://x.test/a.png', detail: 'low' }] },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Calling', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '{}', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_1', output: 'ok' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
      ),
    );
    // An easy message gets its type, so stored input items are uniform.
    expect(parsed.input?.[0]).toEqual({ type: 'message', role: 'developer', content: 'Rules.' });
  });

  it('model may be left to a prompt', () => {
    expect(() => parseResponsesRequest({ prompt: { id: 'support', version: '2', variables: { a: 'b' } }, input: 'x' })).not.toThrow();
  });

  it.each([
    ['no model and no prompt', { input: 'x' }, 'model', /model is required/],
    ['an item_reference', items({ type: 'item_reference', id: 'msg_1' }), 'input[0].type', /item_reference.*previous_response_id/],
    ['a hosted tool call item', items({ type: 'file_search_call', id: 'fs_1', status: 'completed' }), 'input[0].type', /hosted tools/],
    ['an unknown item type', items({ type: 'telepathy' }), 'input[0].type', /'telepathy' is not supported/],
    ['a bad role', items({ role: 'tool', content: 'x' }), 'input[0].role', /role/],
    ['an image by file_id', items({ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }), 'input[0].content[0].file_id', /Files API/],
    ['an image without a URL', items({ role: 'user', content: [{ type: 'input_image', detail: 'auto' }] }), 'input[0].content[0].image_url', /image_url/],
    ['an input_file', items({ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }), 'input[0].content[0].type', /input_file/],
    ['function_call without call_id', items({ type: 'function_call', name: 'f', arguments: '{}' }), 'input[0].call_id', /call_id/],
    [
      'a file in a function_call_output',
      items({ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_id: 'f' }] }),
      'input[0].output[0].type',
      /Files API/,
    ],
    ['an unknown tool type', { ...base, tools: [{ type: 'function', name: 'f', parameters: {} }, { type: 'telepathy' }] }, 'tools[1].type', /'telepathy' is not supported/],
    ['a custom tool without a name', { ...base, tools: [{ type: 'custom' }] }, 'tools[0].name', /name/],
    ['an empty namespace', { ...base, tools: [{ type: 'namespace', name: 'ns', tools: [] }] }, 'tools[0].tools', /tools/],
    ['a function tool without a name', { ...base, tools: [{ type: 'function', parameters: {} }] }, 'tools[0].name', /name/],
    ['an unknown tool_choice', { ...base, tool_choice: { type: 'telepathy' } }, 'tool_choice.type', /telepathy/],
    ['an unknown text.format', { ...base, text: { format: { type: 'yaml' } } }, 'text.format.type', /yaml/],
    ['json_schema without a schema', { ...base, text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema', /schema/],
    ['background mode', { ...base, background: true }, 'background', /background mode is not supported/],
    ['a conversation object', { ...base, conversation: 'conv_1' }, 'conversation', /previous_response_id/],
    ['metadata that is not a string map', { ...base, metadata: { n: 1 } }, 'metadata.n', /string/],
    ['max_output_tokens of 0', { ...base, max_output_tokens: 0 }, 'max_output_tokens', /max_output_tokens/],
  ])('rejects %s, naming the field', (_what, body, param, message) => {
    const err = rejection(body);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });
});
