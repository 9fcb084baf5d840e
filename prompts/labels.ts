import { checkName } from './content.ts';
import { PromptError } from './errors.ts';
import type { PromptHeads } from './types.ts';

/** The version a label (or `latest`) points at; 404 naming the label when there is none. */
export function headVersion(name: string, heads: PromptHeads, label: string): number {
  const v = label === 'latest' ? heads.latest : heads.labels.get(label);
  if (v == null) {
    const msg = label === 'latest' ? `Prompt '${name}' has no versions yet.` : `Prompt '${name}' has no label '${label}'.`;
    throw new PromptError('not_found', msg, 'label');
  }
  return v;
}

export function checkLabel(label: string): void {
  checkName(label, 'label', 'label');
  if (label === 'latest') {
    throw new PromptError('invalid_request', `The label 'latest' is automatic (the highest version) and cannot be moved.`, 'label');
  }
}
