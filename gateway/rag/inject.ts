import { estimateTextTokens } from '../cost/estimate-tokens.ts';
import type { ChatMessageLike, RetrievedDoc } from './types.ts';

/** A document as injected: its number in the context (`[n]`) and whether it was cut. */
export interface InjectedDoc extends RetrievedDoc {
  n: number;
  truncated: boolean;
}

export interface ContextBlock {
  /** The numbered sources, `[1] (id) text` separated by blank lines; what `{{context}}` receives. */
  text: string;
  documents: InjectedDoc[];
  /** Retrieved documents left out to honour the token budget. */
  dropped: number;
}

export const TRUNCATION_MARK = ' […truncated]';
const SEPARATOR = '\n\n';

/** Opening line of the system message used when the prompt has no `{{context}}` variable. */
export const CONTEXT_PREAMBLE = 'Use the numbered sources below to answer. Cite a source as [n] when you use it.';

const entry = (n: number, doc: RetrievedDoc, text = doc.text): string => `[${n}] (${doc.id}) ${text}`;

/**
 * Numbers the documents (best first) and keeps as many as fit in `tokenBudget` tokens (tiktoken,
 * the encoding of `model`). Lower-ranked documents are dropped first and no document is cut,
 * except that when the best one alone exceeds the budget it is truncated (at a word boundary
 * where possible) and marked with TRUNCATION_MARK. Returns null when nothing fits.
 */
export function buildContext(docs: readonly RetrievedDoc[], opts: { tokenBudget?: number | undefined; model: string }): ContextBlock | null {
  if (docs.length === 0) return null;
  const budget = opts.tokenBudget;
  const count = (text: string) => estimateTextTokens(text, opts.model);
  const kept: InjectedDoc[] = [];
  let used = 0;
  for (const doc of docs) {
    const n = kept.length + 1;
    const cost = count(entry(n, doc)) + (n > 1 ? count(SEPARATOR) : 0);
    if (budget !== undefined && used + cost > budget) break;
    kept.push({ ...doc, n, truncated: false });
    used += cost;
  }
  if (kept.length === 0) {
    const first = docs[0]!;
    const cut = truncateToBudget(first, budget!, count);
    if (cut === null) return null;
    kept.push({ ...first, text: cut, n: 1, truncated: true });
  }
  let text = kept.map((d) => entry(d.n, d, d.truncated ? d.text + TRUNCATION_MARK : d.text)).join(SEPARATOR);
  // Tokens of joined text can differ from the sum of the parts by a merge at a boundary.
  while (budget !== undefined && kept.length > 1 && count(text) > budget) {
    kept.pop();
    text = kept.map((d) => entry(d.n, d)).join(SEPARATOR);
  }
  return { text, documents: kept, dropped: docs.length - kept.length };
}

/** The longest prefix of the document's text whose entry (with the mark) fits; null if none. */
function truncateToBudget(doc: RetrievedDoc, budget: number, count: (t: string) => number): string | null {
  const fits = (len: number) => count(entry(1, doc, doc.text.slice(0, len) + TRUNCATION_MARK)) <= budget;
  if (!fits(1)) return null;
  let lo = 1;
  let hi = doc.text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  const prefix = doc.text.slice(0, lo);
  const space = prefix.search(/\s\S*$/);
  // Back up to the last word boundary unless that would lose more than a fifth of the prefix.
  return (space > lo * 0.8 ? prefix.slice(0, space) : prefix).trimEnd();
}

/** The system message carrying the context when the prompt does not declare `{{context}}`. */
export function contextSystemMessage(context: string): string {
  return `${CONTEXT_PREAMBLE}\n\n${context}`;
}

/** Inserts a system message after the leading system/developer messages (their instructions stay first). */
export function insertSystemMessage<M extends ChatMessageLike>(messages: readonly M[], content: string): (M | ChatMessageLike)[] {
  let at = 0;
  while (at < messages.length && (messages[at]!.role === 'system' || messages[at]!.role === 'developer')) at++;
  return [...messages.slice(0, at), { role: 'system', content }, ...messages.slice(at)];
}

/**
 * The request body with `prompt.variables.context` set, for the prompt renderer. Works for a
 * prompt named in the body or by header / route (then `prompt` holds only variables). The
 * gateway's context replaces a `context` the client sent.
 */
export function withContextVariable(body: Readonly<Record<string, unknown>>, context: string): Record<string, unknown> {
  const prompt = body.prompt !== null && typeof body.prompt === 'object' && !Array.isArray(body.prompt) ? (body.prompt as Record<string, unknown>) : {};
  const variables = prompt.variables !== null && typeof prompt.variables === 'object' && !Array.isArray(prompt.variables) ? prompt.variables : {};
  return { ...body, prompt: { ...prompt, variables: { ...variables, context } } };
}
