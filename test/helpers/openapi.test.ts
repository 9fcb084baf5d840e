import { describe, expect, it } from 'vitest';
import {
  expectValidAgainstSpec,
  getSpecLoadStats,
  preprocessSchema,
  validateAgainstSpec,
} from './openapi.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures (shapes as returned by api.openai.com)

function chatCompletion(): Record<string, any> {
  return {
    id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
    object: 'chat.completion',
    created: 1741570283,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! How can I help?', refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 9,
      completion_tokens: 7,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fc9f1d7035',
  };
}

function chunk(choice: Record<string, unknown> | null, extra: Record<string, unknown> = {}): Record<string, any> {
  return {
    id: 'chatcmpl-123',
    object: 'chat.completion.chunk',
    created: 1694268190,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_44709d6fcb',
    choices: choice === null ? [] : [choice],
    ...extra,
  };
}

function floatEmbeddings(): Record<string, any> {
  return {
    object: 'list',
    data: [
      { object: 'embedding', index: 0, embedding: [0.0023064255, -0.009327292, 0.015797347] },
      { object: 'embedding', index: 1, embedding: [-0.0028842222, 0.1, 0] },
    ],
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: 8, total_tokens: 8 },
  };
}

function errorsOf(name: string, value: unknown): string[] {
  const r = validateAgainstSpec(name, value);
  expect(r.valid).toBe(false);
  return r.errors;
}

// ---------------------------------------------------------------------------------------------

describe('spec loading', () => {
  it('loads the spec kept in the repo (test/fixtures), so a fresh clone validates with nothing beside it', () => {
    const stats = getSpecLoadStats();
    expect(stats.schemaCount).toBeGreaterThan(1000);
    expect(stats.specPath).toMatch(/test[\\/]fixtures[\\/]openai-openapi[\\/]openapi\.yaml$/);
    console.info(`[openapi] spec loaded from ${stats.source} in ${stats.loadMs} ms (+${stats.ajvSetupMs} ms Ajv setup)`);
  });

  it('rejects unknown schema names', () => {
    expect(() => validateAgainstSpec('NoSuchSchemaAnywhere', {})).toThrow(/Unknown OpenAI spec schema/);
  });
});

describe('CreateChatCompletionResponse', () => {
  it('accepts a realistic completion', () => {
    expectValidAgainstSpec('CreateChatCompletionResponse', chatCompletion());
  });

  it('accepts a tool-call completion with null content', () => {
    const body = chatCompletion();
    body['choices'][0] = {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    };
    expectValidAgainstSpec('CreateChatCompletionResponse', body);
  });

  it('rejects a message without refusal', () => {
    const body = chatCompletion();
    delete body['choices'][0].message.refusal;
    expect(errorsOf('CreateChatCompletionResponse', body)).toContain(
      "/choices/0/message must have required property 'refusal'",
    );
  });

  it('rejects a choice without logprobs', () => {
    const body = chatCompletion();
    delete body['choices'][0].logprobs;
    expect(errorsOf('CreateChatCompletionResponse', body)).toContain(
      "/choices/0 must have required property 'logprobs'",
    );
  });

  it('rejects a null finish_reason, wrong object, string created and incomplete usage', () => {
    const a = chatCompletion();
    a['choices'][0].finish_reason = null;
    expect(errorsOf('CreateChatCompletionResponse', a).join('\n')).toMatch(/\/choices\/0\/finish_reason must be string/);

    const b = chatCompletion();
    b['object'] = 'chat.completion.chunk';
    expect(errorsOf('CreateChatCompletionResponse', b).join('\n')).toMatch(/\/object must be equal to one of the allowed values/);

    const c = chatCompletion();
    c['created'] = '1741570283';
    expect(errorsOf('CreateChatCompletionResponse', c)).toContain('/created must be integer');

    const d = chatCompletion();
    delete d['usage'].total_tokens;
    expect(errorsOf('CreateChatCompletionResponse', d)).toContain("/usage must have required property 'total_tokens'");
  });

  it('expectValidAgainstSpec throws a readable error with a trimmed value', () => {
    const body = chatCompletion();
    delete body['choices'][0].message.refusal;
    body['choices'][0].message.content = 'x'.repeat(5000);
    let message = '';
    try {
      expectValidAgainstSpec('CreateChatCompletionResponse', body);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/does not match OpenAI spec schema CreateChatCompletionResponse/);
    expect(message).toMatch(/- \/choices\/0\/message must have required property 'refusal'/);
    expect(message).toMatch(/"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"/);
    expect(message).toMatch(/5000 chars/);
    expect(message.length).toBeLessThan(4000);
  });
});

describe('CreateChatCompletionStreamResponse', () => {
  it('accepts every chunk of a realistic stream', () => {
    const chunks = [
      chunk({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }),
      chunk({ index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: null }, { obfuscation: 'p9K3xT6w' }),
      chunk({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }, { usage: null }),
      // stream_options.include_usage: final chunk has no choices and carries usage
      chunk(null, { usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }),
      chunk({
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'f', arguments: '' } }],
        },
        finish_reason: null,
      }),
    ];
    for (const c of chunks) expectValidAgainstSpec('CreateChatCompletionStreamResponse', c);
  });

  it('rejects a chunk with the wrong object', () => {
    const c = chunk({ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null });
    c['object'] = 'chat.completion';
    expect(errorsOf('CreateChatCompletionStreamResponse', c).join('\n')).toMatch(
      /\/object must be equal to one of the allowed values \(allowed: "chat\.completion\.chunk"\)/,
    );
  });

  it('rejects a choice without finish_reason, a bad finish_reason and a bad role', () => {
    expect(
      errorsOf('CreateChatCompletionStreamResponse', chunk({ index: 0, delta: { content: 'Hi' } })),
    ).toContain("/choices/0 must have required property 'finish_reason'");
    expect(
      errorsOf(
        'CreateChatCompletionStreamResponse',
        chunk({ index: 0, delta: {}, finish_reason: 'done' }),
      ).join('\n'),
    ).toMatch(/\/choices\/0\/finish_reason must be equal to one of the allowed values/);
    expect(
      errorsOf(
        'CreateChatCompletionStreamResponse',
        chunk({ index: 0, delta: { role: 'bot' }, finish_reason: null }),
      ).join('\n'),
    ).toMatch(/\/choices\/0\/delta\/role must be equal to one of the allowed values/);
  });

  it('rejects a chunk missing created or with a malformed usage', () => {
    const c = chunk({ index: 0, delta: {}, finish_reason: 'stop' });
    delete c['created'];
    expect(errorsOf('CreateChatCompletionStreamResponse', c)).toContain("(root) must have required property 'created'");
    const u = chunk(null, { usage: { prompt_tokens: 1 } });
    expect(errorsOf('CreateChatCompletionStreamResponse', u)).toContain(
      "/usage must have required property 'completion_tokens'",
    );
  });
});

describe('CreateEmbeddingResponse', () => {
  it('accepts a float embedding response', () => {
    expectValidAgainstSpec('CreateEmbeddingResponse', floatEmbeddings());
  });

  it('accepts a base64 embedding response (encoding_format: "base64", the SDK default)', () => {
    const body = floatEmbeddings();
    for (const d of body['data']) {
      d.embedding = Buffer.from(new Float32Array(d.embedding).buffer).toString('base64');
    }
    expectValidAgainstSpec('CreateEmbeddingResponse', body);
  });

  it('rejects non-base64 strings, string floats, missing usage and a wrong item object', () => {
    const a = floatEmbeddings();
    a['data'][0].embedding = 'not base64!';
    expect(validateAgainstSpec('CreateEmbeddingResponse', a).valid).toBe(false);

    const b = floatEmbeddings();
    b['data'][0].embedding = ['0.1', '0.2'];
    expect(validateAgainstSpec('CreateEmbeddingResponse', b).valid).toBe(false);

    const c = floatEmbeddings();
    delete c['usage'];
    expect(errorsOf('CreateEmbeddingResponse', c)).toContain("(root) must have required property 'usage'");

    const d = floatEmbeddings();
    d['data'][1].object = 'list';
    expect(errorsOf('CreateEmbeddingResponse', d).join('\n')).toMatch(/\/data\/1\/object must be equal to one of/);
  });
});

describe('ErrorResponse', () => {
  it('rejects an error without param and code', () => {
    const errors = errorsOf('ErrorResponse', { error: { message: 'Invalid API key', type: 'invalid_request_error' } });
    expect(errors).toContain("/error must have required property 'param'");
    expect(errors).toContain("/error must have required property 'code'");
  });

  it('accepts param and code as null or strings', () => {
    expectValidAgainstSpec('ErrorResponse', {
      error: { message: 'Invalid API key', type: 'invalid_request_error', param: null, code: null },
    });
    expectValidAgainstSpec('ErrorResponse', {
      error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    });
  });

  it('rejects a numeric code and a bare string error', () => {
    expect(
      validateAgainstSpec('ErrorResponse', { error: { message: 'x', type: 'server_error', param: null, code: 500 } })
        .valid,
    ).toBe(false);
    expect(errorsOf('ErrorResponse', { error: 'boom' })).toContain('/error must be object');
  });
});

describe('ListModelsResponse and Model', () => {
  const model = { id: 'gpt-4o-mini', object: 'model', created: 1686935002, owned_by: 'openai' };

  it('accepts a model list and a model', () => {
    expectValidAgainstSpec('ListModelsResponse', {
      object: 'list',
      data: [model, { id: 'text-embedding-3-small', object: 'model', created: 1705948997, owned_by: 'system' }],
    });
    expectValidAgainstSpec('Model', model);
    expectValidAgainstSpec('Model', { ...model, shutdown_date: '2026-10-23' });
  });

  it('rejects a model without created/owned_by and a list with the wrong object', () => {
    const errors = errorsOf('Model', { id: 'x', object: 'model' });
    expect(errors).toContain("(root) must have required property 'created'");
    expect(errors).toContain("(root) must have required property 'owned_by'");
    expect(validateAgainstSpec('Model', { ...model, shutdown_date: 'soon' }).valid).toBe(false);
    // The spec's Model has no `type: object`; the preprocessor adds it so non-objects fail.
    expect(errorsOf('Model', 'gpt-4o-mini')).toContain('(root) must be object');
    expect(errorsOf('ListModelsResponse', { object: 'list', data: [null] })).toContain('/data/0 must be object');
    expect(errorsOf('ListModelsResponse', { object: 'models', data: [model] }).join('\n')).toMatch(/\/object must be equal/);
  });
});

describe('preprocessing of OpenAPI-isms', () => {
  it('rewrites nullable on typed schemas, enums, $ref, combinators and allOf idioms', () => {
    expect(preprocessSchema({ type: 'string', nullable: true, description: 'd' })).toEqual({
      type: ['string', 'null'],
      description: 'd',
    });
    expect(preprocessSchema({ type: 'string', enum: ['a', 'b'], nullable: true })).toEqual({
      type: ['string', 'null'],
      enum: ['a', 'b', null],
    });
    expect(preprocessSchema({ $ref: '#/components/schemas/X', nullable: true, description: 'd' })).toEqual({
      description: 'd',
      anyOf: [{ $ref: '#/components/schemas/X' }, { type: 'null' }],
    });
    expect(preprocessSchema({ oneOf: [{ type: 'string' }, { type: 'array' }], nullable: true })).toEqual({
      anyOf: [{ oneOf: [{ type: 'string' }, { type: 'array' }] }, { type: 'null' }],
    });
    expect(preprocessSchema({ enum: ['x'], nullable: true })).toEqual({
      anyOf: [{ enum: ['x'] }, { type: 'null' }],
    });
    expect(preprocessSchema({ allOf: [{ $ref: '#/components/schemas/X' }, { nullable: true }] })).toEqual({
      anyOf: [{ allOf: [{ $ref: '#/components/schemas/X' }] }, { type: 'null' }],
    });
    expect(preprocessSchema({ type: 'integer', nullable: false })).toEqual({ type: 'integer' });
    expect(preprocessSchema({ properties: { a: { type: 'string' } }, required: ['a'] })).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
    });
    expect(preprocessSchema({ nullable: true, description: 'anything' })).toEqual({ description: 'anything' });
  });

  it('leaves property names, enum values and defaults alone while dropping OpenAPI-only keywords', () => {
    expect(
      preprocessSchema({
        type: 'object',
        'x-oaiMeta': { name: 'n' },
        example: { nullable: true },
        discriminator: { propertyName: 'type' },
        default: { nullable: true },
        properties: { example: { type: 'string', nullable: true }, 'x-custom': { type: 'integer' } },
      }),
    ).toEqual({
      type: 'object',
      default: { nullable: true },
      properties: { example: { type: ['string', 'null'] }, 'x-custom': { type: 'integer' } },
    });
  });

  it('converts boolean exclusive bounds and $recursiveRef', () => {
    expect(preprocessSchema({ type: 'number', minimum: 0, maximum: 2, exclusiveMinimum: true })).toEqual({
      type: 'number',
      maximum: 2,
      exclusiveMinimum: 0,
    });
    expect(preprocessSchema({ type: 'number', maximum: 1, exclusiveMaximum: false })).toEqual({
      type: 'number',
      maximum: 1,
    });
    expect(preprocessSchema({ $recursiveAnchor: true, items: { oneOf: [{ $recursiveRef: '#' }] } }, 'Tree')).toEqual({
      items: { oneOf: [{ $ref: '#/components/schemas/Tree' }] },
    });
  });

  it('applies the rewrites to the real spec', () => {
    // exclusiveMinimum: true + minimum: 0 -> beta must be > 0
    expect(validateAgainstSpec('FineTuneDPOHyperparameters', { beta: 0.1 }).valid).toBe(true);
    expect(validateAgainstSpec('FineTuneDPOHyperparameters', { beta: 0 }).valid).toBe(false);
    // $recursiveRef: '#' -> nested compound filters are validated, not waved through
    const leaf = { type: 'eq', key: 'lang', value: 'en' };
    expect(
      validateAgainstSpec('CompoundFilter', { type: 'and', filters: [leaf, { type: 'or', filters: [leaf] }] }).valid,
    ).toBe(true);
    expect(
      validateAgainstSpec('CompoundFilter', { type: 'and', filters: [{ type: 'or', filters: [{ type: 'bogus' }] }] })
        .valid,
    ).toBe(false);
    // allOf: [$ref, {nullable: true}] -> null accepted
    const upload = {
      id: 'upload_abc',
      object: 'upload',
      created_at: 1719184911,
      filename: 'training.jsonl',
      bytes: 2147483648,
      purpose: 'fine-tune',
      status: 'pending',
      expires_at: 1719127296,
      file: null,
    };
    expectValidAgainstSpec('Upload', upload);
    expect(validateAgainstSpec('Upload', { ...upload, file: 'file-xyz' }).valid).toBe(false);
  });
});
