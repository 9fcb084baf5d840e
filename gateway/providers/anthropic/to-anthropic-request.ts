import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { MessageCreateParamsNonStreaming, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';
import { jsonToolChoice, planJsonOutput } from './response-format.ts';
import { toAnthropicMessages } from './to-anthropic-messages.ts';
import { toAnthropicToolChoice, toAnthropicTools } from './to-anthropic-tools.ts';

/**
 * OpenAI chat.completions request → Anthropic Messages request body (without `stream`, which
 * the caller sets). Pure: no I/O, throws GatewayError('invalid_request') naming the field.
 *
 * Accepted but ignored, because Anthropic has no counterpart: seed, logprobs/top_logprobs
 * (responses carry `logprobs: null`), frequency/presence_penalty, logit_bias, service_tier,
 * store, metadata (the gateway logs it), prompt_cache_key/retention, prediction, verbosity,
 * reasoning_effort, modalities/audio, web_search_options, stream_options (the caller uses it),
 * message `name`s, image `detail`, function `strict`. `n` is fanned out by the pipeline (the provider declares `nativeN: false`).
 */
export interface ToAnthropicOptions {
  /** Upstream model id (the part after `anthropic/`). */
  model: string;
  /** Anthropic requires max_tokens; used when the request gives none. */
  defaultMaxTokens: number;
  /**
   * Leave out temperature and top_p. Anthropic API version 2026-10-21 (the default of
   * @anthropic-ai/sdk ≥ 1.0) and newer models reject them with a 400, even at default values.
   */
  omitSamplingParams?: boolean;
  /** The provider's `structured_outputs`: `json_schema` as `output_config.format` (response-format.ts). */
  structuredOutputs?: boolean;
}

/**
 * The SDK's request type plus the sampling fields it no longer declares (they still exist on
 * API version 2023-06-01). Assignable to `MessageCreateParams`.
 */
export type AnthropicRequest = Omit<MessageCreateParamsNonStreaming, 'stream'> & {
  temperature?: number;
  top_p?: number;
};

/** Anthropic accepts at most this many cache_control breakpoints per request. */
const MAX_CACHE_BREAKPOINTS = 4;

export function toAnthropicRequest(req: ChatCompletionCreateParams, opts: ToAnthropicOptions): AnthropicRequest {
  if (req.functions !== undefined && req.functions.length > 0) {
    throw new GatewayError('invalid_request', "functions: the deprecated 'functions' parameter is not supported for Anthropic models; use 'tools'", {
      param: 'functions',
    });
  }
  const conversation = toAnthropicMessages(req.messages);
  const system = conversation.system;
  limitCacheBreakpoints([...system, ...conversation.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content))]);

  const body: AnthropicRequest = {
    model: opts.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? opts.defaultMaxTokens,
    messages: conversation.messages,
  };
  if (system.length > 0) body.system = systemPrompt(system);

  const tools = toAnthropicTools(req.tools, req.tool_choice);
  if (tools.length > 0) {
    body.tools = tools;
    const choice = toAnthropicToolChoice(req.tool_choice, req.parallel_tool_calls);
    if (choice !== undefined) body.tool_choice = choice;
  }
  // JSON modes (response-format.ts): structured outputs, or the reserved tool forced.
  const json = planJsonOutput(req, { structuredOutputs: opts.structuredOutputs === true });
  if (json?.kind === 'structured') body.output_config = json.outputConfig;
  else if (json?.kind === 'tool') {
    body.tools = [...tools, json.tool];
    body.tool_choice = jsonToolChoice(json, req.parallel_tool_calls);
  }

  if (typeof req.stop === 'string') body.stop_sequences = [req.stop];
  else if (Array.isArray(req.stop) && req.stop.length > 0) body.stop_sequences = [...req.stop];

  if (opts.omitSamplingParams !== true) {
    // OpenAI's range is 0–2, Anthropic's 0–1: above 1 means "as random as it gets" on both.
    if (typeof req.temperature === 'number') body.temperature = Math.min(Math.max(req.temperature, 0), 1);
    if (typeof req.top_p === 'number') body.top_p = req.top_p;
  }

  // `safety_identifier` is OpenAI's newer name for the same end-user id.
  const userId = req.user ?? req.safety_identifier ?? undefined;
  if (typeof userId === 'string' && userId !== '') body.metadata = { user_id: userId };
  return body;
}

/** A plain string when no part needs cache_control (the common, readable case). */
function systemPrompt(blocks: TextBlockParam[]): string | TextBlockParam[] {
  return blocks.some((b) => b.cache_control) ? blocks : blocks.map((b) => b.text).join('\n\n');
}

/**
 * OpenAI writes "up to the latest four explicit breakpoints"; Anthropic rejects a fifth.
 * Keep the last four, in prompt order (system, then messages). Mutates blocks built here.
 */
function limitCacheBreakpoints(blocks: readonly object[]): void {
  const marked = blocks.filter((b): b is { cache_control?: unknown } => 'cache_control' in b && b.cache_control != null);
  for (const block of marked.slice(0, Math.max(0, marked.length - MAX_CACHE_BREAKPOINTS))) delete block.cache_control;
}
