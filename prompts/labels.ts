import { checkName } from './content.ts';
import { PromptError } from './errors.ts';
import type { PromptDraw, PromptHeads } from './types.ts';

/**
 * The version a label (or `latest`) sends a call to: the split's version when the label has a
 * split and `draw` falls under its percent (DESIGN §4.6), else the label's own. Without a
 * draw, always the label's own. Undefined/null when the label points nowhere.
 */
export function pointedVersion(heads: PromptHeads, label: string, draw?: PromptDraw): number | null | undefined {
  const v = label === 'latest' ? heads.latest : heads.labels.get(label);
  if (v == null || draw === undefined) return v;
  const split = heads.splits.get(label);
  if (!split) return v;
  return (typeof draw === 'number' ? draw : draw()) < split.percent / 100 ? split.version : v;
}

/** As pointedVersion; 404 naming the label when there is none. */
export function headVersion(name: string, heads: PromptHeads, label: string, draw?: PromptDraw): number {
  const v = pointedVersion(heads, label, draw);
  if (v == null) {
    const msg = label === 'latest' ? `Prompt '${name}' has no versions yet.` : `Prompt '${name}' has no label '${label}'.`;
    throw new PromptError('not_found', msg, 'label');
  }
  return v;
}

/** A draw function called at most once, however often it is asked (a cache miss asks twice). */
export function drawOnce(draw: PromptDraw | undefined): PromptDraw | undefined {
  if (typeof draw !== 'function') return draw;
  let value: number | undefined;
  return () => (value ??= draw());
}

export function checkLabel(label: string): void {
  checkName(label, 'label', 'label');
  if (label === 'latest') {
    throw new PromptError('invalid_request', `The label 'latest' is automatic (the highest version) and cannot be moved.`, 'label');
  }
}
