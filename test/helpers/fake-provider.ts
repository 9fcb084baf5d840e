/**
 * Fake LLM provider: a real HTTP server (127.0.0.1, random port) speaking the OpenAI and
 * Anthropic wire formats well enough for the official SDKs, with fault injection and a record
 * of every request. Implementation lives in ./fake-provider/ (index.ts = server, openai.ts,
 * anthropic.ts, faults.ts, text.ts, types.ts).
 *
 * DETERMINISTIC BEHAVIOUR (tests assert on it)
 *
 * Routes: POST /v1/chat/completions, POST /v1/embeddings, POST /v1/responses (OpenAI); POST /v1/messages,
 * POST /v1/messages/count_tokens (Anthropic); GET /v1/models and GET /v1/models/{id} (OpenAI
 * format, or Anthropic format when the request has an `anthropic-version` header). Anything
 * else -> 404 (Anthropic shape if `anthropic-version` is present, else OpenAI shape).
 * Query strings are ignored for routing. Unknown model ids are accepted by chat/messages.
 *
 * Auth (only when `apiKey` is set): OpenAI routes need `Authorization: Bearer <key>`,
 * Anthropic routes need `x-api-key: <key>` or, when there is no x-api-key header,
 * `Authorization: Bearer <key>` (NB: @anthropic-ai/sdk 1.14 sends its apiKey that way). Missing -> 401 "You didn't provide an API key. ...";
 * wrong -> 401 `Incorrect API key provided: <masked>. You can find your API key at ...` with
 * code `invalid_api_key`, where <masked> = first 5 chars + one `*` per hidden char + last 4
 * (e.g. "sk-te***********1234"). Anthropic: 401 authentication_error "x-api-key header is
 * required" / "invalid x-api-key". Auth is checked before validation; /v1/messages without
 * `anthropic-version` -> 400 invalid_request_error. Non-JSON body on a POST route -> 400.
 *
 * Error shapes: OpenAI `{"error":{"message","type","param","code"}}`, Anthropic
 * `{"type":"error","error":{"type","message"}}`. Responses carry `x-request-id` (OpenAI) or
 * `request-id` (Anthropic).
 *
 * Words: "words" are whitespace-separated tokens (`s.split(/\s+/)`, empties dropped).
 * Message text: string content, or the `text` parts of a content array joined with ' '.
 *
 * Reply text (both providers), unless overridden by setReply(fn) (fn gets the parsed body):
 *   - "Echo: " + <text of the last user message>; or
 *   - OpenAI: when the last message has role `tool`: "Tool said: " + contents of the trailing
 *     run of tool messages joined with ' ' (one tool message -> just its content);
 *   - Anthropic: when the last user message contains `tool_result` blocks: "Tool said: " +
 *     their content texts joined with ' '.
 *   setReply replaces the text in both cases; it does not affect the tool-calling decision.
 *
 * OpenAI chat (`chat.completion`, id `chatcmpl-<hex>`, system_fingerprint `fp_fake`,
 * service_tier `default`, model = requested model):
 *   - Tool calls when `tools` is non-empty, `tool_choice !== 'none'` and the last message has
 *     role `user`: to tool_choice.function.name if given; else the first two tools when
 *     `parallel_tool_calls !== false` and there are >= 2 tools; else the first tool. Each call:
 *     `{id:'call_<n>', type:'function', function:{name, arguments: JSON.stringify({query: <last
 *     user text>})}}`, content null, finish_reason `tool_calls`. <n> is a per-server counter
 *     from 1 (reset() restarts it) so ids are unique across requests.
 *   - Otherwise text: with n > 1 choice i's text gets suffix ` #i` (i from 0); then `stop`
 *     (string|array) cuts before the earliest occurrence (finish_reason `stop`); then
 *     `max_completion_tokens ?? max_tokens` keeps at most that many words when there are more
 *     (finish_reason `length`). With response_format json_object/json_schema the content is
 *     JSON.stringify({answer: <that text>}) (wrapping happens after stop/limit).
 *   - logprobs: null unless `logprobs: true`; then `{content, refusal:null}` with one entry per
 *     word piece (as streamed), logprob = -0.01*((i % 9)+1), top_logprobs has `top_logprobs`
 *     entries: the token itself first, then `<token>~k` with logprob - k.
 *   - usage: prompt_tokens = sum over messages of (words in message text + 1); completion_tokens
 *     = words in the returned content, summed over choices (tool calls: words in each arguments
 *     string); cached_tokens 0; reasoning_tokens 0; audio/prediction details 0.
 *   - Streaming: text/event-stream, `data: <chunk json>\n\n`. Per choice (sequentially): a chunk
 *     with delta {role:'assistant', content:''} (content null when the choice calls tools), one
 *     chunk per word piece ("Echo: hi there" -> "Echo:", " hi", " there"; concatenation == text),
 *     or for tool calls: a chunk `{index:k, id, type:'function', function:{name, arguments:''}}`
 *     then >= 2 chunks `{index:k, function:{arguments: <fragment>}}`; then a chunk with delta {}
 *     and the finish_reason. Then, only with stream_options.include_usage, a chunk with
 *     choices [] and usage (earlier chunks then carry `usage: null`). Then `data: [DONE]`.
 *     With logprobs: true each word chunk carries that piece's logprob entry.
 *
 * Embeddings: input string | string[] | number[] | number[][] -> one vector per input, length
 * `dimensions` ?? embeddingDimensions (8). Vector = sha256-derived values normalised to unit
 * length and rounded to float32 (so base64 round-trips exactly). `encoding_format:'base64'` ->
 * base64 of little-endian float32. usage.prompt_tokens = total_tokens = words (token arrays:
 * their length), or setUsage.prompt.
 *
 * Models: default ids ['gpt-4o-mini','gpt-4o','text-embedding-3-small','claude-sonnet-4-6',
 * 'claude-haiku-4-5']. OpenAI: {object:'list', data:[{id, object:'model', created:1700000000,
 * owned_by:'fake'}]}. Anthropic: {data:[{type:'model', id, display_name:id,
 * created_at:'2025-01-01T00:00:00Z'}], has_more:false, first_id, last_id}. Unknown id -> 404
 * (OpenAI code `model_not_found`; Anthropic `not_found_error`).
 *
 * Anthropic messages: requires model, max_tokens, non-empty messages (400 otherwise). Message
 * `{id:'msg_<hex>', type:'message', role:'assistant', model, content, stop_reason,
 * stop_sequence, stop_details:null, container:null, diagnostics:null, usage}`.
 *   - tool_use when tools non-empty, tool_choice.type !== 'none', last message is a user message
 *     without tool_result blocks: tool_choice {type:'tool', name} -> that one; else first two
 *     tools unless tool_choice.disable_parallel_tool_use; else the first. Blocks
 *     `{type:'tool_use', id:'toolu_<n>', name, input, caller:{type:'direct'}}` (same counter as
 *     call_<n>), stop_reason `tool_use`. `input` is a JSON value that fits the tool's
 *     input_schema (fake-provider/json-sample.ts): strings are the last user text, numbers its
 *     word count, booleans true, arrays one item (or minItems), enum/const/first anyOf branch,
 *     $ref into $defs/definitions; every declared property is present, and an object that
 *     declares none is `{answer: <reply text>}` — so `{query: {type:'string'}}` gives
 *     `{query: <last user text>}`.
 *   - Otherwise one text block `{type:'text', text, citations:null}`; stop_sequences cut ->
 *     stop_reason `stop_sequence` + stop_sequence; max_tokens word limit -> `max_tokens`;
 *     else `end_turn`. `system` (string | text blocks) accepted, never obeyed (a system prompt
 *     asking for JSON still gets plain text).
 *   - JSON modes (option `anthropicJson`, or setAnthropicJson): 'structured_outputs' (default)
 *     honours `output_config.format` {type:'json_schema', schema}: the text is
 *     JSON.stringify(<value that fits the schema, as for tool input>), then stop/limit apply;
 *     'forced_tool' ignores output_config (plain text), so only a tool call yields JSON.
 *   - usage: input_tokens = (system words + 1 if a system prompt is given) + sum over messages of
 *     (words of text blocks and tool_result texts + 1); output_tokens = words of the text
 *     (tool_use: words of JSON.stringify(input)); cache_creation_input_tokens = cacheWrite ?? 0,
 *     cache_read_input_tokens = cached ?? 0, output_tokens_details = {thinking_tokens} only when
 *     setUsage gave reasoning, else null; service_tier 'standard'; other fields null.
 *   - count_tokens: {input_tokens} by the same rule.
 *   - Streaming: `event: <type>\ndata: <json>\n\n`: message_start (content [], stop_reason null,
 *     usage as above but output_tokens 1), then per block content_block_start (text '' /
 *     tool_use with input {}), `ping` once after the first content_block_start,
 *     content_block_delta (text_delta per word piece / input_json_delta with >= 2 partial_json
 *     fragments), content_block_stop; then message_delta (delta {stop_reason, stop_sequence,
 *     stop_details:null, container:null}, usage {output_tokens, input_tokens, cache_* , ...}),
 *     message_stop.
 *
 * Responses (POST /v1/responses, issue 22): the body is read with the gateway's own Responses
 * → chat translation (namespace tools flattened to `<ns>__<name>`, custom tools as functions
 * with one `input` string, hosted tools dropped), answered exactly as chat completions would
 * be (same text, tool choice and usage), and written back as a Response (`resp_<hex>`,
 * created_at 1700000000) or as Responses stream events (response.created … response.completed).
 *
 * setToolCalls(fn): when the fake would call tools (either format, and Responses), fn(body) may
 * return `[{name, input}]` to make exactly those calls with those arguments (ids as usual);
 * returning undefined keeps the default choice. Off by default; reset() clears it.
 *
 * setUsage(u): each given field replaces the computed value as-is: OpenAI prompt_tokens =
 * prompt, completion_tokens = completion, total = sum, cached_tokens = cached, reasoning_tokens
 * = reasoning (cacheWrite unused); Anthropic input_tokens = prompt, output_tokens = completion,
 * cache_read_input_tokens = cached, cache_creation_input_tokens = cacheWrite.
 *
 * Faults (enqueue): FIFO, one-shot; each request consumes the first queued fault whose `path`
 * is absent or equals the request pathname (query excluded). A fault object may combine
 * fields; they apply in this order: delayMs (wait, then continue), afterAnswers N (hold the
 * request until N responses have been sent in full since start or reset(); `answered()` tells
 * how many), reset (destroy socket),
 * hang (never answer), status (answer immediately with `body` — a string is sent verbatim,
 * anything else as JSON — or the path's provider error
 * shape, message "Injected fault: HTTP <status>" — with `echoHeaders`, followed by
 * "; request headers: <the request's headers as JSON>", as some upstreams quote what they got —
 * plus `headers`), then the normal answer
 * shaped by: malformed (JSON answers -> 200 with a truncated JSON body; streams -> a broken
 * `data:` line right after the first event, then the rest), dripMs (pause between SSE events),
 * cutAfterChunks N (send N events — the ping and the malformed line count — then destroy the
 * socket), streamError (after the first content event — the first word/tool-call chunk or
 * content_block_delta — send OpenAI `data: {"error":{message, type: type ?? 'server_error',
 * param:null, code:null}}` / Anthropic `event: error` with type ?? 'api_error', then end).
 * Stream-only faults are consumed (and ignored) by non-streaming answers.
 *
 * Recording: every request (faulted ones too) is pushed to `requests` on arrival: method, path
 * (with query), headers, body (parsed JSON, raw string if not JSON, undefined if empty).
 * `aborted` becomes true when the connection closes before the response finished, unless the
 * server closed it itself (reset/cutAfterChunks/close()). It is set asynchronously: poll for it.
 */
export { startFakeProvider } from './fake-provider/index.ts';
export { maskKey, embeddingVector, float32Base64 } from './fake-provider/openai.ts';
export { countWords, wordPieces } from './fake-provider/text.ts';
export { DEFAULT_MODELS } from './fake-provider/types.ts';
export type { AnthropicJson, Fault, FakeProvider, FakeProviderOptions, QueuedFault, RecordedRequest, ScriptedToolCall, UsageOverride } from './fake-provider/types.ts';
