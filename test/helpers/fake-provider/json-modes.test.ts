import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../fake-provider.ts';
import { sampleJson } from './json-sample.ts';

/** The fake Anthropic model's JSON modes and the afterAnswers fault, through the official SDK. */
let fake: FakeProvider;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider();
  anthropic = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const schema = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' }, sunny: { type: 'boolean' }, tags: { type: 'array', items: { $ref: '#/$defs/tag' } } },
  required: ['city', 'days'],
  additionalProperties: false,
  $defs: { tag: { enum: ['warm', 'cold'] } },
};
const messages = [{ role: 'user' as const, content: 'weather in Oslo' }];
const base = { model: 'claude-haiku-4-5', max_tokens: 100, messages };
const expected = { city: 'weather in Oslo', days: 3, sunny: true, tags: ['warm'] };
const textOf = (m: Anthropic.Message): string => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

describe('sampleJson', () => {
  it('fits the schema: every property, first enum value, $ref followed, and {answer} for an open object', () => {
    expect(sampleJson(schema, 'weather in Oslo', 'r')).toEqual(expected);
    expect(sampleJson({ type: 'object', additionalProperties: true }, 'q', 'Echo: q')).toEqual({ answer: 'Echo: q' });
    expect(sampleJson({ anyOf: [{ type: 'number' }, { type: 'null' }] }, 'a b', 'r')).toBe(2);
    expect(sampleJson({ type: 'array', items: { type: ['null', 'string'] }, minItems: 2 }, 't', 'r')).toEqual(['t', 't']);
  });

  it('stops on a recursive schema', () => {
    const tree = { $ref: '#/$defs/n', $defs: { n: { type: 'object', properties: { child: { $ref: '#/$defs/n' } } } } };
    expect(JSON.stringify(sampleJson(tree, 't', 'r'))).toContain('null');
  });
});

describe('fake Anthropic JSON modes', () => {
  const outputConfig = { format: { type: 'json_schema' as const, schema } };

  it("'structured_outputs' (default) answers output_config.format with JSON text that fits, streamed too", async () => {
    const message = await anthropic.messages.create({ ...base, output_config: outputConfig });
    expect(JSON.parse(textOf(message))).toEqual(expected);
    expect(message.stop_reason).toBe('end_turn');
    const streamed = await anthropic.messages.stream({ ...base, output_config: outputConfig }).finalMessage();
    expect(JSON.parse(textOf(streamed))).toEqual(expected);
  });

  it("'forced_tool' ignores output_config: plain text; a forced tool still answers JSON", async () => {
    fake.setAnthropicJson('forced_tool');
    expect(textOf(await anthropic.messages.create({ ...base, output_config: outputConfig }))).toBe('Echo: weather in Oslo');
    const forced = await anthropic.messages.create({
      ...base,
      tools: [{ name: 'answer', input_schema: schema as Anthropic.Tool.InputSchema }],
      tool_choice: { type: 'tool', name: 'answer' },
    });
    expect(forced.content).toMatchObject([{ type: 'tool_use', name: 'answer', input: expected }]);
    fake.reset();
    expect(JSON.parse(textOf(await anthropic.messages.create({ ...base, output_config: outputConfig })))).toEqual(expected);
  });

  it('does not follow a system prompt that asks for JSON', async () => {
    const message = await anthropic.messages.create({ ...base, system: 'Respond with a single valid JSON object and nothing else.' });
    expect(textOf(message)).toBe('Echo: weather in Oslo');
  });
});

describe('afterAnswers fault', () => {
  it('holds a request until enough responses were sent in full', async () => {
    fake.enqueue({ afterAnswers: 2, status: 400 });
    const held = anthropic.messages.create(base).then(
      () => 'answered',
      (err: unknown) => (err as { status?: number }).status,
    );
    // The held request has taken the fault (its body is read) before two more are answered.
    for (let i = 0; i < 1000 && fake.requests[0]?.body === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 2; i++) await anthropic.messages.create(base);
    expect(await held).toBe(400);
    expect(fake.answered()).toBe(3);
  });
});
