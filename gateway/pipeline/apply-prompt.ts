import { z } from 'zod';
import { checkName, parsePromptRef, renderMessages, type PromptDraw, type PromptRef, type PromptResolver, type PromptVersion } from '../../prompts/index.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { assignmentValue } from '../routing/assign.ts';
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
    const parsed = checkedRef(parsePromptRef(header.trim()), 'x-sluice-prompt');
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
  checkName(field.id, 'prompt.id');
  if (field.version !== undefined) return { name: field.id, ref: { version: Number(field.version) } };
  return checkedRef({ name: field.id, ref: { label: field.label ?? 'latest' } }, 'prompt.label');
}

/**
 * Names and labels are bounded and checked before anything is looked up or remembered, so a
 * client cannot grow the resolver's memory (or a log line) with megabyte-long prompt names.
 */
function checkedRef(target: { name: string; ref: PromptRef }, param: string): { name: string; ref: PromptRef } {
  checkName(target.name, param === 'prompt.label' ? 'prompt.id' : param);
  if ('label' in target.ref) checkName(target.ref.label, param, 'label');
  return target;
}

/** A registry prompt a request asked for, resolved to its version (not yet rendered). */
export interface ResolvedPrompt {
  version: PromptVersion;
  /** `prompt.variables` from the body. */
  variables: Record<string, unknown>;
}

/** What the draw for a label split needs (DESIGN §4.6 prompt label rollouts). */
export interface SplitSubject {
  /** Header `x-sluice-subject`; without it, the body's `user` is the subject. */
  subject: string | undefined;
  /** A call with no subject at all draws at random (not sticky). */
  random: () => number;
}

/**
 * The draw for `name@label`: `hash('prompt:name@label', subject)`, so a subject stays on one
 * side of the split on every instance. Lazy (the resolver calls it only when the label has a
 * split) and drawn once, however often it is asked.
 */
function splitDraw(name: string, label: string, body: Record<string, unknown>, split: SplitSubject): () => number {
  let u: number | undefined;
  return () => {
    if (u !== undefined) return u;
    const subject = split.subject || (typeof body.user === 'string' ? body.user : '') || undefined;
    u = subject === undefined ? split.random() : assignmentValue(`prompt:${name}@${label}`, subject);
    return u;
  };
}

/**
 * Which prompt version the request asks for (body `prompt` or header `x-sluice-prompt`), from
 * memory; only a prompt this instance has never seen costs one database read. With `split`, a
 * label being rolled out sends the call to the side its subject falls on; without, to the
 * version the label points at.
 */
export async function resolvePrompt(
  body: Record<string, unknown>,
  header: string | undefined,
  resolver: PromptResolver,
  split?: SplitSubject,
): Promise<ResolvedPrompt | null> {
  const field = body.prompt === undefined ? undefined : validate(z.object({ prompt: promptField }), { prompt: body.prompt }).prompt;
  const target = refOf(field, header);
  if (!target) return null;
  const { name, ref } = target;
  const draw: PromptDraw | undefined = split && 'label' in ref ? splitDraw(name, ref.label, body, split) : undefined;
  const version = resolver.resolveCached(name, ref, draw) ?? (await resolver.resolve(name, ref, draw));
  return { version, variables: field?.variables ?? {} };
}

/**
 * Renders a resolved prompt into a chat request: the version's messages go before the
 * request's own, its model and params are defaults the request overrides, and the `prompt`
 * field is removed so it never reaches the upstream. Variables are read from the body's
 * `prompt.variables` (where retrieval may have added `context`).
 */
export function renderPrompt(
  body: Record<string, unknown>,
  resolved: ResolvedPrompt | null,
): { body: Record<string, unknown>; applied: AppliedPrompt | null } {
  if (!resolved) return { body, applied: null };
  const { version } = resolved;
  const { prompt, ...rest } = body;
  const variables = (prompt as { variables?: Record<string, unknown> } | undefined)?.variables ?? resolved.variables;
  const rendered = renderMessages(version, variables);
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

/** Resolve and render in one step (no retrieval in between). */
export async function applyPrompt(
  body: Record<string, unknown>,
  header: string | undefined,
  resolver: PromptResolver,
  split?: SplitSubject,
): Promise<{ body: Record<string, unknown>; applied: AppliedPrompt | null }> {
  return renderPrompt(body, await resolvePrompt(body, header, resolver, split));
}
