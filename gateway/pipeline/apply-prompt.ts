import { z } from 'zod';
import { parsePromptRef, renderMessages, type PromptRef, type PromptResolver, type PromptVersion } from '../../prompts/index.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { validate } from './validate.ts';

/** The body field, in the shape OpenAI's Responses API uses: `prompt: {id, version | label, variables}`. */
const promptField = z.strictObject({
  id: z.string().min(1).optional(),
  version: z.union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]*$/, 'must be a version number')]).optional(),
  label: z.string().min(1).optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
});

export interface AppliedPrompt {
  name: string;
  version: number;
}

function refOf(field: z.output<typeof promptField> | undefined, header: string | undefined): { name: string; ref: PromptRef } | null {
  if (header !== undefined) {
    const parsed = parsePromptRef(header.trim());
    if (field?.id !== undefined && field.id !== parsed.name) {
      throw new GatewayError('invalid_request', `x-sluice-prompt names '${parsed.name}' but prompt.id is '${field.id}'`, { param: 'prompt.id' });
    }
    return parsed;
  }
  if (!field) return null;
  if (field.id === undefined) throw new GatewayError('invalid_request', "Missing 'prompt.id' (or send header x-sluice-prompt)", { param: 'prompt.id' });
  if (field.version !== undefined && field.label !== undefined) {
    throw new GatewayError('invalid_request', "Give 'prompt.version' or 'prompt.label', not both", { param: 'prompt' });
  }
  if (field.version !== undefined) return { name: field.id, ref: { version: Number(field.version) } };
  return { name: field.id, ref: { label: field.label ?? 'latest' } };
}

/**
 * Applies a registry prompt to a chat request: the version's rendered messages go before the
 * request's own, its model and params are defaults the request overrides, and the `prompt`
 * field is removed so it never reaches the upstream. Versions come from memory; only a prompt
 * this instance has never seen costs one database read.
 */
export async function applyPrompt(
  body: Record<string, unknown>,
  header: string | undefined,
  resolver: PromptResolver,
): Promise<{ body: Record<string, unknown>; applied: AppliedPrompt | null }> {
  const field = body.prompt === undefined ? undefined : validate(z.object({ prompt: promptField }), { prompt: body.prompt }).prompt;
  const target = refOf(field, header);
  if (!target) return { body, applied: null };
  const version: PromptVersion = resolver.resolveCached(target.name, target.ref) ?? (await resolver.resolve(target.name, target.ref));
  const rendered = renderMessages(version, field?.variables ?? {});
  const { prompt: _omit, ...rest } = body;
  const own = Array.isArray(rest.messages) ? (rest.messages as unknown[]) : [];
  const merged: Record<string, unknown> = { ...version.params, ...rest, messages: [...rendered, ...own] };
  if (rest.model === undefined && version.model) merged.model = version.model;
  if (merged.model === undefined) {
    throw new GatewayError('invalid_request', `Missing 'model': neither the request nor prompt ${version.prompt}@${version.version} names one`, {
      param: 'model',
    });
  }
  return { body: merged, applied: { name: version.prompt, version: version.version } };
}
