import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';

interface ToolCallParts {
  id: string;
  name: string;
  args: string[];
}

interface ChoiceParts {
  content: string[];
  refusal: string[];
  toolCalls: ToolCallParts[];
  finishReason: ChatCompletion.Choice['finish_reason'] | null;
  logprobs: ChatCompletion.Choice.Logprobs['content'];
}

/**
 * Folds the chunks of a chat stream back into the `chat.completion` it stands for: text,
 * tool calls (argument fragments joined), finish reasons and usage. The call log keeps this
 * assembled output, and a complete stream can be cached and replayed in either form.
 */
export class ChunkAssembler {
  private readonly choices: ChoiceParts[] = [];
  private id = '';
  private model = '';
  private created = 0;
  private fingerprint: string | null | undefined;
  private usage: ChatCompletionChunk['usage'] = null;

  add(chunk: ChatCompletionChunk): void {
    if (!this.id) {
      this.id = chunk.id;
      this.model = chunk.model;
      this.created = chunk.created;
      this.fingerprint = chunk.system_fingerprint;
    }
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices) {
      const parts = (this.choices[choice.index] ??= { content: [], refusal: [], toolCalls: [], finishReason: null, logprobs: null });
      const delta = choice.delta;
      if (delta.content) parts.content.push(delta.content);
      if (delta.refusal) parts.refusal.push(delta.refusal);
      if (delta.tool_calls) {
        for (const tc of delta.tool_calls) {
          const call = (parts.toolCalls[tc.index] ??= { id: '', name: '', args: [] });
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.name += tc.function.name;
          if (tc.function?.arguments) call.args.push(tc.function.arguments);
        }
      }
      if (choice.logprobs?.content) (parts.logprobs ??= []).push(...choice.logprobs.content);
      if (choice.finish_reason) parts.finishReason = choice.finish_reason;
    }
  }

  /** True once every choice seen has a finish reason. */
  get complete(): boolean {
    return this.choices.length > 0 && this.choices.every((c) => c?.finishReason);
  }

  /** Text of every choice so far (for token estimates when the upstream reports no usage). */
  text(): string {
    return this.choices.map((c) => c?.content.join('') ?? '').join('');
  }

  toCompletion(): ChatCompletion {
    const completion: ChatCompletion = {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: this.choices.map((parts, index) => {
        const toolCalls = parts.toolCalls.filter(Boolean).map((tc) => ({
          id: tc.id,
          type: 'function' as const,
          function: { name: tc.name, arguments: tc.args.join('') },
        }));
        return {
          index,
          message: {
            role: 'assistant' as const,
            content: parts.content.length > 0 || toolCalls.length === 0 ? parts.content.join('') : null,
            refusal: parts.refusal.length > 0 ? parts.refusal.join('') : null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: parts.logprobs ? { content: parts.logprobs, refusal: null } : null,
          finish_reason: parts.finishReason ?? 'stop',
        };
      }),
    };
    if (typeof this.fingerprint === 'string') completion.system_fingerprint = this.fingerprint;
    if (this.usage) completion.usage = this.usage;
    return completion;
  }
}
