import { contentText, type EvalItem } from '../datasets/item.ts';
import type { EvalScoreRow } from '../schema.ts';
import { escapeHtml, num } from './format.ts';

/**
 * "Results per item": each item's input and expected answer beside every target's output and
 * scores. Everything from the dataset or a model is escaped; long text is clipped to a preview
 * with the rest in a <details>, and bounded so a large run still gives a file a browser opens.
 */
export const LIMITS = { items: 500, preview: 240, previewLines: 6, text: 20_000 } as const;

export function itemsSection(scores: readonly EvalScoreRow[], targets: readonly string[], items: readonly EvalItem[] | undefined): string {
  const byItem = new Map<string, Map<string, EvalScoreRow[]>>();
  for (const r of scores) {
    const perTarget = byItem.get(r.itemId) ?? new Map<string, EvalScoreRow[]>();
    byItem.set(r.itemId, perTarget);
    perTarget.set(r.target, [...(perTarget.get(r.target) ?? []), r]);
  }
  const dataset = new Map((items ?? []).map((it) => [it.item_id, it]));
  // Dataset order when the items are known, else the order the scores came in.
  const ids = [...new Set([...(items ?? []).map((it) => it.item_id).filter((id) => byItem.has(id)), ...byItem.keys()])];
  if (ids.length === 0) return '<h2 id="items">Results per item</h2><p>No scored items.</p>';
  const cols = targets.filter((t) => ids.some((id) => byItem.get(id)?.has(t)));
  const shown = ids.slice(0, LIMITS.items);
  const rows = shown.map((id) => {
    const it = dataset.get(id);
    const cells = cols.map((t) => `<td>${targetCell(byItem.get(id)?.get(t))}</td>`).join('');
    const known = items ? `<td>${it ? text(inputOf(it)) : '<span class="meta">—</span>'}</td><td>${it && it.expected !== undefined ? text(show(it.expected)) : '<span class="meta">—</span>'}</td>` : '';
    return `<tr><th scope="row"><code>${escapeHtml(id)}</code></th>${known}${cells}</tr>`;
  });
  const head = `<tr><th scope="col">item</th>${items ? '<th scope="col">input</th><th scope="col">expected</th>' : ''}${cols.map((t) => `<th scope="col">${escapeHtml(t)}</th>`).join('')}</tr>`;
  const notes = [
    shown.length < ids.length ? `The first ${shown.length} of ${ids.length} items.` : `${ids.length} item${ids.length === 1 ? '' : 's'}.`,
    items ? '' : 'Inputs and expected answers were not loaded with this report.',
  ].filter(Boolean);
  return `<h2 id="items">Results per item</h2><p class="meta">${notes.join(' ')} Long text is collapsed: open it to read it all.</p>
<div class="table-wrap"><table class="items"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function targetCell(rows: readonly EvalScoreRow[] | undefined): string {
  if (!rows || rows.length === 0) return '<span class="meta">not run</span>';
  const output = rows[0]!.output;
  const scores = rows
    .map((r) => {
      const why = r.reason ? ` title="${escapeHtml(r.reason)}"` : '';
      return `<li${why}><span class="scorer">${escapeHtml(r.scorer)}</span> <b>${num(r.score)}</b>${r.score === null && r.reason ? ` <span class="meta">${escapeHtml(clip(r.reason, 80))}</span>` : ''}</li>`;
    })
    .join('');
  return `${output === null ? '<span class="meta">no output</span>' : text(output)}<ul class="scores">${scores}</ul>`;
}

/** A block of text: whole when short, else a preview with the rest behind <details>. */
export function text(s: string): string {
  const bounded = s.length > LIMITS.text ? `${s.slice(0, LIMITS.text)}\n… (${s.length - LIMITS.text} more characters not shown)` : s;
  const lines = bounded.split('\n');
  if (bounded.length <= LIMITS.preview && lines.length <= LIMITS.previewLines) return `<pre tabindex="0">${escapeHtml(bounded)}</pre>`;
  const preview = clip(lines.slice(0, LIMITS.previewLines).join('\n') + (lines.length > LIMITS.previewLines ? '\n…' : ''), LIMITS.preview);
  return `<details><summary><span class="preview">${escapeHtml(preview)}</span> <span class="meta">(${s.length} characters)</span></summary><pre tabindex="0">${escapeHtml(bounded)}</pre></details>`;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function inputOf(it: EvalItem): string {
  if (it.input !== undefined) return it.input;
  if (it.messages) return it.messages.map((m) => `${m.role}: ${contentText(m.content)}`).join('\n');
  if (it.variables) return show(it.variables);
  return '';
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));
