/**
 * Generated malformed and hostile requests for fuzz.test.ts. `generateCase(seed, i, limit)` is a
 * pure function of its arguments, so a failing case is reproduced from its seed and index.
 */
import { ADMIN_KEY } from '../helpers/gateway.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

export interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | string | undefined;
  /** Send the body with chunked transfer encoding (no content-length). */
  chunked?: boolean;
  /** Raw bytes written to a socket, for what an HTTP client library refuses to send. */
  raw?: Buffer;
}

type Rng = () => number;

const MODEL = 'fake/gpt-4o-mini';
const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };
const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' };

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u2066rtl',
  '💥'.repeat(50),
  '\uffff\ufffe',
  '${OPENAI_API_KEY}',
  '{{variable}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  "'; drop table calls; --",
  '%00%ZZ%',
  'null',
  'true',
  '1e400',
  '-0',
  'NaN',
  '\r\n\r\nHTTP/1.1 200 OK',
  'data: [DONE]\n\n',
];
const NUMBERS = [0, -0, -1, 1, 0.5, -0.5, 1e-320, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 129, 1_000_000_000, 3.14159];

/** A random JSON value of any type, up to `depth` levels of containers. */
export function randomValue(r: Rng, depth = 2): unknown {
  switch (int(r, depth > 0 ? 12 : 8)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
    case 3:
      return pick(r, NUMBERS);
    case 4:
      return pick(r, WEIRD_STRINGS);
    case 5:
      return 'x'.repeat(int(r, 3) === 0 ? 20_000 : int(r, 64));
    case 6:
      return String(pick(r, NUMBERS));
    case 7:
      return int(r, 2) === 0 ? {} : [];
    case 8:
    case 9:
      return Array.from({ length: int(r, 4) }, () => randomValue(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 4); i > 0; i--) o[pick(r, ['a', 'type', 'role', 'content', '__proto__', 'constructor', 'text', 'x'.repeat(300)])] = randomValue(r, depth - 1);
      return o;
    }
  }
}

function baseChat(r: Rng): Record<string, unknown> {
  const body: Record<string, unknown> = { model: MODEL, messages: [{ role: 'user', content: `fuzz ${int(r, 1e6)}` }] };
  if (r() < 0.3) body.stream = true;
  return body;
}

/** JSON with `__proto__` as an own key (an object literal would set the prototype instead). */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): string {
  const text = JSON.stringify(obj);
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(value)}}`;
}

const CHAT_FIELDS = [
  'model', 'messages', 'stream', 'stream_options', 'n', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens',
  'stop', 'seed', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'tools', 'tool_choice',
  'parallel_tool_calls', 'response_format', 'user', 'metadata', 'prompt', 'logit_bias', 'modalities', 'audio',
  'reasoning_effort', 'service_tier', 'store', 'prediction', 'functions', 'function_call', 'web_search_options',
];
const MESSAGE_FIELDS = ['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio'];

function chat(body: unknown, headers: Record<string, string | string[]> = JSON_HEADERS, kind = 'chat'): FuzzCase {
  return { kind, method: 'POST', path: '/v1/chat/completions', headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

type Generator = (r: Rng, limit: number) => FuzzCase;

const wrongTypes: Generator = (r) => {
  const body = baseChat(r);
  if (r() < 0.6) {
    body[pick(r, CHAT_FIELDS)] = randomValue(r);
  } else {
    const message: Record<string, unknown> = { role: 'user', content: 'hi' };
    message[pick(r, MESSAGE_FIELDS)] = randomValue(r);
    body.messages = r() < 0.2 ? [message, randomValue(r)] : [message];
  }
  return chat(body, JSON_HEADERS, 'wrong-type');
};

const embeddings: Generator = (r) => {
  const body: Record<string, unknown> = { model: 'fake/text-embedding-3-small', input: 'hello' };
  const field = pick(r, ['model', 'input', 'encoding_format', 'dimensions', 'user', 'input']);
  // (A huge valid `dimensions` would only test the fake provider, which builds the vector.)
  body[field] =
    field === 'input' && r() < 0.5
      ? pick(r, [[], [[]], [[1, 2], 'a'], Array(3000).fill('a'), [1.5, 2], [[-1]], [['x']], Array(5).fill([2 ** 40])])
      : field === 'dimensions'
        ? pick(r, [0, -1, 1.5, '8', null, 4, [], {}, 'x'])
        : randomValue(r);
  return { kind: 'embeddings', method: 'POST', path: '/v1/embeddings', headers: JSON_HEADERS, body: JSON.stringify(body) };
};

const pollution: Generator = (r) => {
  const payload = pick<unknown>(r, [{ polluted: 'yes' }, { toString: 'x', valueOf: 1 }, { isAdmin: true }, 'x', null]);
  const where = int(r, 6);
  const key = pick(r, ['__proto__', 'constructor', 'prototype']);
  const value = key === 'constructor' ? { prototype: payload } : payload;
  if (where === 0) return chat(withOwnKey(baseChat(r), key, value), JSON_HEADERS, 'pollution');
  if (where === 1) return chat({ ...baseChat(r), metadata: JSON.parse(withOwnKey({ a: 'b' }, key, value)) as unknown }, JSON_HEADERS, 'pollution');
  if (where === 2) {
    const text = JSON.stringify({ ...baseChat(r), messages: '@' }).replace('"@"', `[${withOwnKey({ role: 'user', content: 'hi' }, key, value)}]`);
    return chat(text, JSON_HEADERS, 'pollution');
  }
  if (where === 3) return chat({ ...baseChat(r), model: pick(r, ['__proto__', 'constructor', 'toString', 'fake/__proto__', '__proto__/x', 'hasOwnProperty']) }, JSON_HEADERS, 'pollution');
  if (where === 4) {
    const prompt = JSON.parse(withOwnKey({ id: pick(r, ['__proto__', 'constructor', 'x']) }, 'variables', JSON.parse(withOwnKey({}, key, value)))) as unknown;
    return chat({ ...baseChat(r), prompt }, JSON_HEADERS, 'pollution');
  }
  const name = pick(r, ['__proto__', 'constructor', 'valueOf']);
  return chat({ ...baseChat(r), tools: [{ type: 'function', function: { name, parameters: JSON.parse(withOwnKey({ type: 'object' }, key, value)) as unknown } }], tool_choice: { type: 'function', function: { name } } }, JSON_HEADERS, 'pollution');
};

const sseOptions: Generator = (r) => {
  const body = baseChat(r);
  const variant = int(r, 8);
  if (variant === 0) body.stream = pick(r, ['yes', 'true', 1, 0, [], {}, 'false']);
  else if (variant === 1) Object.assign(body, { stream: false, stream_options: { include_usage: true } });
  else if (variant === 2) Object.assign(body, { stream: true, stream_options: randomValue(r) });
  else if (variant === 3) body.n = pick(r, [1e9, 129, 0, -1, 1.5, '2', 2 ** 53]);
  else if (variant === 4) Object.assign(body, { stream: true, n: pick(r, [1, 2, 5, 128]) });
  else if (variant === 5) Object.assign(body, { stream: true, stream_options: { include_usage: pick(r, ['yes', 1, null, true]) } });
  else if (variant === 6) Object.assign(body, { stream: null, stream_options: null });
  else Object.assign(body, { stream: true, max_tokens: pick(r, [1, 0, -1, 1e12]), stop: pick(r, [[], ['a', 'b', 'c', 'd', 'e'], '', ['\u0000']]) });
  return chat(body, JSON_HEADERS, 'sse-options');
};

const roles: Generator = (r) => {
  const role = pick(r, ['hacker', '', 'System', 'USER', 'assistant ', 'tool', 'function', 'developer', null, 7, ['user'], { role: 'user' }, '__proto__']);
  const message: Record<string, unknown> = { role, content: pick(r, ['hi', null, '', [{ type: 'text', text: 'hi' }], [{ type: 'video', url: 'x' }], [{ type: 'image_url' }]]) };
  if (r() < 0.3) message.tool_call_id = randomValue(r, 0);
  return chat({ ...baseChat(r), messages: r() < 0.2 ? [] : [message] }, JSON_HEADERS, 'roles');
};

const tools: Generator = (r) => {
  const bad = pick<unknown>(r, [
    'x',
    [1],
    [null],
    [{ type: 'function', function: 'x' }],
    [{ type: 'function', function: { name: 'f', parameters: [] } }],
    [{ type: 'function', function: { name: 'f', parameters: 'string' } }],
    [{ type: 'function', function: { name: 'f', parameters: 5 } }],
    [{ type: 'function', function: { name: 'f', parameters: null } }],
    [{ type: 'function', function: { name: '', parameters: {} } }],
    [{ type: 'function', function: { name: 'x'.repeat(65) } }],
    [{ type: 'function', function: { name: 'f g!' } }],
    [{ type: 'retrieval' }],
    [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: randomValue(r) } } }],
    Array(200).fill({ type: 'function', function: { name: 'f' } }),
    {},
  ]);
  const body: Record<string, unknown> = { ...baseChat(r), tools: bad };
  if (r() < 0.4) body.tool_choice = pick(r, ['required', 'any', { type: 'function' }, { type: 'function', function: { name: 7 } }, 5]);
  if (r() < 0.2) body.response_format = pick(r, [{ type: 'json_schema' }, { type: 'json_schema', json_schema: { name: 'x', schema: 'no' } }, { type: 'xml' }, 'json']);
  return chat(body, JSON_HEADERS, 'tools');
};

const latin1 = (r: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => 0x80 + int(r, 0x80))).toString('latin1');

const headers: Generator = (r) => {
  const h: Record<string, string | string[]> = { ...JSON_HEADERS };
  switch (int(r, 8)) {
    case 0:
      h.authorization = pick(r, [
        'Bearer', 'Bearer ', 'bearer x', 'Basic YWRtaW46YWRtaW4=', 'Bearer a b', `Bearer ${'k'.repeat(8000)}`, 'Bearer\t' + ADMIN_KEY,
        `Bearer ${ADMIN_KEY}x`, `Bearer ${ADMIN_KEY.slice(0, -1)}`, 'Token abc', '', `Bearer ${latin1(r, 12)}`, `${ADMIN_KEY}`,
      ]);
      break;
    case 1:
      h.authorization = [`Bearer ${ADMIN_KEY}`, `Bearer wrong-${int(r, 100)}`];
      break;
    case 2:
      delete h.authorization;
      h['x-api-key'] = pick(r, ['', ' ', `wrong-${int(r, 1e6)}`, ADMIN_KEY, latin1(r, 20), 'k'.repeat(4000)]);
      break;
    case 3:
      h['x-sluice-prompt'] = pick(r, ['@@@', 'name@', '@label', 'a@b@c', 'x'.repeat(8000), '../../etc@1', 'p@99999999999999999999', '__proto__@production', 'constructor@1', latin1(r, 30), 'p@-1', 'p@0', 'p@1.5', ' ']);
      break;
    case 4:
      h['x-sluice-prompt'] = ['a@1', 'b@production'];
      break;
    case 5:
      h['x-sluice-cache'] = pick(r, ['bogus', '', 'refresh, no-store', latin1(r, 8)]);
      h['x-sluice-cache-ttl'] = pick(r, ['-1', 'NaN', '1e309', '99999999999999999999', 'abc', '0']);
      break;
    case 6:
      h['x-request-id'] = pick(r, ['x'.repeat(5000), latin1(r, 16), '../../x', '<script>', '']);
      h['x-sluice-subject'] = pick(r, ['x'.repeat(5000), latin1(r, 16), '']);
      break;
    default:
      h['content-type'] = ['application/json', 'text/plain'];
      h.accept = pick(r, ['text/event-stream', '*/*;q=0', latin1(r, 10)]);
  }
  return chat(baseChat(r), h, 'headers');
};

const contentTypes: Generator = (r) => {
  const ct = pick(r, [
    'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1',
    'application/json;;;', 'application/xml', '', 'application/octet-stream', '*/*', 'application/json; charset=utf-16',
  ]);
  const body = pick(r, [JSON.stringify(baseChat(r)), 'a=1&b=2', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--', '<xml/>']);
  const h: Record<string, string> = { ...AUTH };
  if (ct) h['content-type'] = ct;
  return chat(body, h, 'content-type');
};

const badJson: Generator = (r) => {
  const valid = JSON.stringify(baseChat(r));
  const body = pick(r, [
    '',
    ' ',
    '\n\t',
    valid.slice(0, 1 + int(r, valid.length - 1)),
    `${valid}garbage`,
    `${valid}${valid}`,
    `\ufeff${valid}`,
    `/* c */${valid}`,
    valid.replace(/"/g, "'"),
    valid.replace(':', '::'),
    '[]',
    '[{"model":"x"}]',
    '"string"',
    '42',
    'null',
    'true',
    '{"model":',
    '{',
    '}',
    '{"a":1,}',
    '{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"n":1e400}',
    '{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":99999999999999999999999}',
    '{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"model":"other/dup"}',
    '{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"\\ud800\\u0000"}]}',
    'NaN',
    '\u0000',
  ]);
  return chat(body, JSON_HEADERS, 'bad-json');
};

const invalidUtf8: Generator = (r) => {
  const bad = pick(r, [
    [0xff], [0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80], [0xfe, 0xfe, 0xff, 0xff], [0x00],
  ]);
  const prefix = Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"a`);
  const suffix = Buffer.from(`b"}]${r() < 0.3 ? ',"stream":true' : ''}}`);
  const where = int(r, 3);
  const body =
    where === 0
      ? Buffer.concat([prefix, Buffer.from(bad), suffix])
      : where === 1
        ? Buffer.concat([Buffer.from(bad), prefix, suffix])
        : Buffer.concat([Buffer.from(`{"model":"fake/gpt`), Buffer.from(bad), Buffer.from(`","messages":[{"role":"user","content":"x"}]}`)]);
  return { kind: 'invalid-utf8', method: 'POST', path: '/v1/chat/completions', headers: JSON_HEADERS, body };
};

const deepNesting: Generator = (r) => {
  const depth = pick(r, [1_000, 10_000, 10_000, 50_000]);
  const nested = r() < 0.5 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const where = int(r, 5);
  const body =
    where === 0
      ? `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"extra":${nested}}`
      : where === 1
        ? `{"model":"${MODEL}","messages":[{"role":"user","content":${nested}}]}`
        : where === 2
          ? `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"metadata":${nested}}`
          : where === 3
            ? `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":${nested}}}}]}`
            : nested;
  // The same bodies at the other JSON endpoints (the prompt registry reads its own bodies).
  const path = pick(r, ['/v1/chat/completions', '/v1/chat/completions', '/v1/embeddings', '/api/prompts/fuzz/versions', '/api/prompts/fuzz/render', '/api/keys']);
  return { kind: 'deep-nesting', method: 'POST', path, headers: JSON_HEADERS, body };
};

const hugeStrings: Generator = (r, limit) => {
  const envelope = `{"model":"${MODEL}","messages":[{"role":"user","content":""}]}`.length;
  const size = pick(r, [limit - envelope - 16, limit - envelope, limit - envelope + 1, limit + 1, 2 * limit, 3 * 1024 * 1024]);
  const filler = pick(r, ['a', 'é', '\\u0000', ' ']);
  const content = filler.repeat(Math.max(0, Math.floor(size / Buffer.byteLength(filler))));
  const body = `{"model":"${MODEL}","messages":[{"role":"user","content":"${content}"}]}`;
  return { ...chat(body, JSON_HEADERS, 'huge-string'), chunked: r() < 0.4 };
};

const pathsAndMethods: Generator = (r) => {
  const method = pick(r, ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'TRACE']);
  const path = pick(r, [
    '/v1/chat/completions', '/v1/chat/completions/', '//v1/chat/completions', '/v1/chat/completions?stream=true&x=%zz',
    '/v1/models/%ZZ', '/v1/models/%E0%A4%A', '/v1/models/..%2f..%2fetc', '/v1/models/fake%2F__proto__', '/v1/models/' + 'x'.repeat(3000),
    '/v1/embeddings', '/v1/messages', '/v1/responses', '/v1/completions', '/v1/%00', '/api/keys', '/api/calls?limit=-1&cursor=%%%',
    '/api/calls?since=notadate&until=1e400&model=__proto__', '/api/calls/%ZZ', '/api/calls/00000000-0000-0000-0000-000000000000',
    '/api/usage?group_by=__proto__', '/api/usage?group_by=day&since=-1', '/api/prompts/%ZZ', '/api/prompts/__proto__/versions/-1',
    '/api/prompts/x/diff?from=a&to=1e400', '/api/prompts/x/resolve?label=', '/api/routes/__proto__', '/healthz?x=%zz', '/metrics',
  ]);
  const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'TRACE' ? undefined : JSON.stringify(randomValue(r));
  return { kind: 'path-method', method, path, headers: JSON_HEADERS, body };
};

const adminBodies: Generator = (r) => {
  const path = pick(r, ['/api/prompts', '/api/keys', '/api/prompts/fuzz/versions', '/api/prompts/fuzz/render', '/api/prompts/fuzz/labels/production', '/api/routes/x/weights']);
  const method = path.endsWith('weights') || path.includes('/labels/') ? 'PUT' : 'POST';
  const body =
    r() < 0.3
      ? withOwnKey({ name: 'fuzz' }, pick(r, ['__proto__', 'constructor']), { polluted: 'yes' })
      : JSON.stringify(
          path === '/api/prompts'
            ? { name: randomValue(r, 0), description: randomValue(r, 1) }
            : path === '/api/keys'
              ? {
                  name: randomValue(r, 0),
                  scope: pick(r, ['admin', 'inference', 'root', 7, null]),
                  ...pick<Record<string, unknown>>(r, [
                    {},
                    { rate_limit_rpm: randomValue(r, 0) },
                    { team: pick(r, [randomValue(r, 0), 'no-such-team', '00000000-0000-0000-0000-000000000000', null]) },
                    { budget: pick(r, [randomValue(r, 1), { usd: randomValue(r, 0), period: pick(r, ['day', 'week', 'month', 'total', 'year', 1]) }, null]) },
                    { rate_limits: pick(r, [randomValue(r, 1), { rpm: randomValue(r, 0), tpm: pick(r, [1, 0, -1, 1e12, 2 ** 31, 1.5, null]) }, null]) },
                    { models: randomValue(r, 1), prompts: pick(r, [['*'], [''], ['a b'], null, randomValue(r, 1)]) },
                    { metadata: randomValue(r, 1) },
                    { expires_at: pick(r, [randomValue(r, 0), '2099-01-01T00:00:00Z', '2000-01-01T00:00:00Z', '2099-13-45T99:99:99Z', null]) },
                  ]),
                }
              : path.endsWith('versions')
                ? { messages: randomValue(r), variables: randomValue(r), params: randomValue(r) }
                : { label: randomValue(r, 0), version: randomValue(r, 0), variables: randomValue(r) },
        );
  return { kind: 'admin', method, path, headers: JSON_HEADERS, body };
};

/** Calls through the registry's prompt `fuzz` (created by the test: `{{company}}`, a string). */
const prompts: Generator = (r) => {
  const body = baseChat(r);
  const variables = r() < 0.5 ? { company: randomValue(r, 1) } : randomValue(r);
  if (r() < 0.5) {
    body.prompt = { id: pick(r, ['fuzz', 'fuzz', 'missing', '', 7, null]), ...pick<Record<string, unknown>>(r, [{}, { label: 'production' }, { version: pick(r, [1, 0, -1, 1.5, '1', 1e9]) }, { label: randomValue(r, 0) }, { version: 1, label: 'production' }]), variables };
    return chat(body, JSON_HEADERS, 'prompts');
  }
  body.prompt = r() < 0.8 ? { variables } : randomValue(r);
  return chat(body, { ...JSON_HEADERS, 'x-sluice-prompt': pick(r, ['fuzz@production', 'fuzz@1', 'fuzz@latest', 'fuzz@2', 'fuzz@nolabel', 'fuzz']) }, 'prompts');
};

/** Bytes an HTTP library would refuse to send: bad header syntax, framing conflicts, oversize heads. */
const protocol: Generator = (r) => {
  const json = JSON.stringify(baseChat(r));
  const head = (lines: string[], body = json) =>
    Buffer.concat([Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`, 'latin1'), Buffer.from(body)]);
  const auth = `Authorization: Bearer ${ADMIN_KEY}`;
  const len = `Content-Length: ${Buffer.byteLength(json)}`;
  const raw = pick(r, [
    () => head([auth, len, len.replace(/\d+$/, '5')]),
    () => head([auth, len, 'Transfer-Encoding: chunked']),
    () => head([auth, `X-Sluice-Prompt: a\u0001b`, len]),
    () => head([auth, `X-Big: ${'h'.repeat(70_000)}`, len]),
    () => head([auth, ...Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`), len]),
    () => head([`Authorization: Bearer ${ADMIN_KEY}\r\n folded`, len]),
    () => head([auth, 'Content-Length: -1']),
    () => head([auth, 'Content-Length: 99999999999999999999']),
    () => head([auth, 'Transfer-Encoding: chunked'], `zz\r\n${json}\r\n0\r\n\r\n`),
    () => head([auth, len, 'Bad Header Name: x']),
    () => Buffer.from(`POST /v1/chat/completions HTTP/9.9\r\nHost: x\r\n\r\n`),
    () => Buffer.from(`GARBAGE\r\n\r\n`),
    () => head([auth, `Content-Length: ${Buffer.byteLength(json) + 50}`]), // the body never completes; the socket closes
  ])();
  return { kind: 'protocol', method: 'RAW', path: '/v1/chat/completions', headers: {}, raw };
};

/** Valid-ish calls mixed in, so the fake provider is reached and success paths stay exercised. */
const validish: Generator = (r) => {
  const body = baseChat(r);
  if (r() < 0.3) body.tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
  if (r() < 0.3) body.metadata = { k: pick(r, WEIRD_STRINGS) };
  if (r() < 0.3) body.user = pick(r, WEIRD_STRINGS);
  return chat(body, JSON_HEADERS, 'valid-ish');
};

/** Weighted mix (out of 1000); each weight is per mille of the generated cases. */
const MIX: Array<[number, Generator]> = [
  [260, wrongTypes],
  [60, embeddings],
  [80, pollution],
  [70, sseOptions],
  [50, roles],
  [60, tools],
  [130, headers],
  [40, contentTypes],
  [90, badJson],
  [50, invalidUtf8],
  [6, deepNesting],
  [3, hugeStrings],
  [30, pathsAndMethods],
  [25, adminBodies],
  [8, protocol],
  [40, validish],
  [50, prompts],
];

export function generateCase(seed: number, index: number, bodyLimit: number): FuzzCase {
  const r = seededRandom((seed * 1_000_003 + index) >>> 0);
  let roll = int(r, MIX.reduce((s, [w]) => s + w, 0));
  for (const [weight, gen] of MIX) {
    if (roll < weight) return gen(r, bodyLimit);
    roll -= weight;
  }
  return validish(r, bodyLimit);
}
