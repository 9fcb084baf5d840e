import { contentHashJson } from '../core/canonical-json.ts';
import { editScript, unifiedDiff } from './line-diff.ts';
import type { PromptMessage, PromptVersion } from './types.ts';

export interface ValueChange {
  /** Dotted path inside params/variables (`properties.city.type`); '' for the whole value. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

export interface MessageChange {
  change: 'added' | 'removed' | 'modified' | 'unchanged';
  /** Index in the `from` version's messages (absent for an added message). */
  from_index?: number;
  /** Index in the `to` version's messages (absent for a removed message). */
  to_index?: number;
  role?: { from: string; to: string };
  /** Unified diff of the message's text, for a modified message whose text changed. */
  content_diff?: string;
  from?: PromptMessage;
  to?: PromptMessage;
}

export interface PromptDiff {
  prompt: string;
  from: number;
  to: number;
  identical: boolean;
  messages: MessageChange[];
  model: { from: string | null; to: string | null } | null;
  params: ValueChange[];
  variables: ValueChange[];
  /** Unified diff of all messages rendered as text (`## role` headings); '' when equal. */
  unified: string;
}

/**
 * A structured diff: messages are aligned by an LCS over their canonical JSON (as the content
 * hash writes it), and a run of removals next to a run of additions is paired up as modifications.
 */
export function diffVersions(a: PromptVersion, b: PromptVersion): PromptDiff {
  const ops = editScript(
    a.messages.map((m, i) => ({ m, i })),
    b.messages.map((m, i) => ({ m, i })),
    (x) => contentHashJson(x.m) ?? '',
  );
  const messages: MessageChange[] = [];
  for (let k = 0; k < ops.length; ) {
    const o = ops[k]!;
    if (o.op === 'keep') {
      messages.push({ change: 'unchanged', from_index: o.a.i, to_index: o.b.i });
      k++;
      continue;
    }
    const dels: { m: PromptMessage; i: number }[] = [];
    const ins: { m: PromptMessage; i: number }[] = [];
    for (; k < ops.length && ops[k]!.op !== 'keep'; k++) {
      const x = ops[k]!;
      if (x.op === 'del') dels.push(x.a);
      else if (x.op === 'ins') ins.push(x.b);
    }
    for (let p = 0; p < Math.max(dels.length, ins.length); p++) {
      const d = dels[p];
      const n = ins[p];
      if (d && n) messages.push(modified(d, n, a.version, b.version));
      else if (d) messages.push({ change: 'removed', from_index: d.i, from: d.m });
      else if (n) messages.push({ change: 'added', to_index: n.i, to: n.m });
    }
  }
  const model = a.model === b.model ? null : { from: a.model, to: b.model };
  const params = jsonChanges(a.params, b.params);
  const variables = jsonChanges(a.variables, b.variables);
  const unified = unifiedDiff(messagesText(a.messages), messagesText(b.messages), `${a.prompt}@${a.version}`, `${b.prompt}@${b.version}`);
  const identical = a.hash === b.hash;
  return { prompt: b.prompt, from: a.version, to: b.version, identical, messages, model, params, variables, unified };
}

function modified(d: { m: PromptMessage; i: number }, n: { m: PromptMessage; i: number }, va: number, vb: number): MessageChange {
  const change: MessageChange = { change: 'modified', from_index: d.i, to_index: n.i, from: d.m, to: n.m };
  if (d.m.role !== n.m.role) change.role = { from: d.m.role, to: n.m.role };
  const text = unifiedDiff(contentText(d.m), contentText(n.m), `messages[${d.i}]@${va}`, `messages[${n.i}]@${vb}`);
  if (text) change.content_diff = text;
  return change;
}

function contentText(m: PromptMessage): string {
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : `[${p.type}] ${contentHashJson(p)}`)).join('\n');
}

function messagesText(messages: readonly PromptMessage[]): string {
  return messages.map((m) => `## ${m.role}${m.name ? ` (${m.name})` : ''}\n${contentText(m)}`).join('\n\n');
}

/** Leaf-level differences between two JSON values; objects are walked, arrays compared whole. */
export function jsonChanges(a: unknown, b: unknown, path = ''): ValueChange[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonChanges(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (a === undefined || a === null) return b === undefined || b === null ? [] : [{ path, change: 'added', to: b }];
  if (b === undefined || b === null) return [{ path, change: 'removed', from: a }];
  return contentHashJson(a) === contentHashJson(b) ? [] : [{ path, change: 'changed', from: a, to: b }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
