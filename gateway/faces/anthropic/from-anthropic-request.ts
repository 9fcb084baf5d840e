import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartText,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ChatRequest } from '../../../core/chat.ts';
import { simplestContent } from '../simplest-content.ts';
import { reasoningEffortOf, serverBlockText, splitServerTools } from './agent-fields.ts';
import { documentParts, imagePart, textPart } from './from-anthropic-content.ts';
import { parseAnthropicRequest, type AnthropicContentBlock, type AnthropicMessagesRequest } from './messages-schema.ts';

/**
 * Anthropic Messages request → the gateway's canonical chat-completions request (the inverse
 * of providers/anthropic/to-anthropic-request.ts). Pure; throws GatewayError('invalid_request')
 * naming the field.
 *
 * Dropped, because chat completions has no counterpart: `top_k`; `thinking` and
 * `output_config.effort` except as `reasoning_effort` for reasoning models (agent-fields.ts);
 * thinking / redacted_thinking blocks in the history (their signatures only mean something to
 * Anthropic); `context_management` (server-side context editing: without it the history is
 * sent whole); `is_error` on tool results (the result text is sent as is); `cache_control` on
 * tools and tool_use blocks (text, image and document blocks keep theirs as
 * `prompt_cache_breakpoint`, which an openai-compatible provider drops); citations settings;
 * `service_tier`, `container`, `inference_geo`; server tools (`dropped`, see agent-fields.ts),
 * whose earlier calls and results in the history become text.
 *
 * `system` items inside `messages` stay system messages at their place.
 */
export function fromAnthropicRequest(body: unknown): ChatRequest {
  return toChatRequest(parseAnthropicRequest(body));
}

export function toChatRequest(req: AnthropicMessagesRequest): ChatRequest {
  return translateMessagesRequest(req).chat;
}

/** The chat request, and the names of the server tools it leaves out. */
export function translateMessagesRequest(req: AnthropicMessagesRequest): { chat: ChatRequest; dropped: string[] } {
  const messages: ChatCompletionMessageParam[] = [];
  const system = systemMessage(req.system);
  if (system) messages.push(system);
  req.messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    if (m.role === 'user') messages.push(...userMessages(m.content, path));
    else if (m.role === 'system') {
      const inline = inlineSystemMessage(m.content, path);
      if (inline) messages.push(inline);
    } else {
      const assistant = assistantMessage(m.content, path);
      if (assistant) messages.push(assistant);
    }
  });

  // Typed as the whole union up front: `stream` decides the variant further down.
  const out = { model: req.model, messages, max_tokens: req.max_tokens } as ChatRequest;
  const { custom, dropped } = splitServerTools(req);
  const tools = custom.map(
    (t): ChatCompletionTool => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        parameters: t.input_schema ?? { type: 'object' },
        ...(t.strict === undefined ? {} : { strict: t.strict }),
      },
    }),
  );
  // OpenAI rejects tool_choice and parallel_tool_calls without tools, so they go only with tools.
  if (tools.length > 0) {
    out.tools = tools;
    const choice = req.tool_choice;
    if (choice) {
      out.tool_choice = toolChoice(choice);
      if (choice.type !== 'none' && choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
    }
  }
  if (req.stop_sequences && req.stop_sequences.length > 0) out.stop = [...req.stop_sequences];
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  const userId = req.metadata?.user_id;
  if (typeof userId === 'string' && userId !== '') out.user = userId;
  const format = req.output_config?.format;
  if (format) out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  const effort = reasoningEffortOf(req);
  if (effort) out.reasoning_effort = effort;
  if (req.stream === true) {
    out.stream = true;
    // Anthropic reports usage in message_delta at the end of every stream; ask the upstream for it.
    out.stream_options = { include_usage: true };
  }
  return { chat: out, dropped };
}

function toolChoice(choice: NonNullable<AnthropicMessagesRequest['tool_choice']>): ChatCompletionToolChoiceOption {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
  }
}

/** A plain string unless a block carries cache_control, which only content parts can hold. */
function systemMessage(system: AnthropicMessagesRequest['system']): ChatCompletionMessageParam | null {
  if (system === undefined) return null;
  if (typeof system === 'string') return system === '' ? null : { role: 'system', content: system };
  if (system.length === 0) return null;
  if (system.some((b) => b.cache_control)) return { role: 'system', content: system.map(textPart) };
  return { role: 'system', content: system.map((b) => b.text).join('\n\n') };
}

/** A `system` item among the messages: its text blocks, as a system message at that place. */
function inlineSystemMessage(content: string | AnthropicContentBlock[], path: string): ChatCompletionMessageParam | null {
  if (typeof content === 'string') return content === '' ? null : { role: 'system', content };
  const texts = content.map((block, j) => {
    if (block.type === 'text') return block;
    const at = `${path}.content[${j}].type`;
    throw new GatewayError('invalid_request', `${at}: system messages take text blocks only, got '${block.type}'`, { param: at });
  });
  return systemMessage(texts);
}

/**
 * One Anthropic user turn → tool messages (one per tool_result, in order) and then a user
 * message with the turn's other content: chat completions wants each tool result right after
 * the assistant message that made the call, before anything else the user says.
 *
 * Tool messages take text only, so images inside a tool_result are moved to the start of
 * that user message, and the tool message says "[image]" where each one was.
 */
function userMessages(content: string | AnthropicContentBlock[], path: string): ChatCompletionMessageParam[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const tools: ChatCompletionMessageParam[] = [];
  const movedImages: ChatCompletionContentPart[] = [];
  const parts: ChatCompletionContentPart[] = [];
  content.forEach((block, j) => {
    const at = `${path}.content[${j}]`;
    switch (block.type) {
      case 'text':
        parts.push(textPart(block));
        return;
      case 'image':
        parts.push(imagePart(block));
        return;
      case 'document':
        parts.push(...documentParts(block));
        return;
      case 'tool_result': {
        const texts: ChatCompletionContentPartText[] = [];
        if (typeof block.content === 'string') texts.push({ type: 'text', text: block.content });
        else {
          for (const b of block.content ?? []) {
            if (b.type === 'text') texts.push(textPart(b));
            else {
              movedImages.push(imagePart(b));
              texts.push({ type: 'text', text: '[image]' });
            }
          }
        }
        const plain = texts.every((t) => !t.prompt_cache_breakpoint);
        tools.push({
          role: 'tool',
          tool_call_id: block.tool_use_id,
          content: plain ? texts.map((t) => t.text).join('\n') : texts,
        });
        return;
      }
      case 'thinking':
      case 'redacted_thinking':
        return;
      case 'tool_use':
        throw new GatewayError('invalid_request', `${at}.type: tool_use blocks belong in assistant messages`, { param: `${at}.type` });
      default: {
        const text = serverBlockText(block);
        if (text) parts.push(text);
      }
    }
  });
  const all = [...movedImages, ...parts];
  return all.length === 0 ? tools : [...tools, { role: 'user', content: simplestContent(all) }];
}

/** Text blocks joined, tool_use blocks as tool_calls; null when the turn held only thinking. */
function assistantMessage(content: string | AnthropicContentBlock[], path: string): ChatCompletionAssistantMessageParam | null {
  if (typeof content === 'string') return { role: 'assistant', content };
  let text = '';
  let sawText = false;
  const calls: ChatCompletionMessageFunctionToolCall[] = [];
  content.forEach((block, j) => {
    const at = `${path}.content[${j}]`;
    switch (block.type) {
      case 'text':
        text += block.text;
        sawText = true;
        return;
      case 'tool_use':
        calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
        return;
      case 'thinking':
      case 'redacted_thinking':
        return;
      case 'image':
      case 'document':
      case 'tool_result':
        throw new GatewayError('invalid_request', `${at}.type: ${block.type} blocks belong in user messages`, { param: `${at}.type` });
      default: {
        // What a server tool searched or ran, and what came back, as the assistant's own text.
        const said = serverBlockText(block);
        if (said) {
          text += said.text;
          sawText = true;
        }
      }
    }
  });
  if (!sawText && calls.length === 0) return null;
  const message: ChatCompletionAssistantMessageParam = { role: 'assistant', content: sawText ? text : null };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}
