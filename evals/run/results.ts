import type { EvalScoreRow } from '../schema.ts';
import type { ScoreTable } from '../stats/compare.ts';

/** One line of `--json` items (DESIGN §4.3). */
export interface ItemResult {
  item_id: string;
  target: string;
  output: string | null;
  scores: Record<string, number | null>;
}

/**
 * Results in a stable order: dataset position, then target order, then the job's scorer order
 * (so two runs of one job serialise identically).
 */
export function itemResults(rows: readonly EvalScoreRow[], order: { items: readonly string[]; targets: readonly string[]; scorers: readonly string[] }): ItemResult[] {
  const byKey = new Map<string, ItemResult>();
  for (const r of rows) {
    const key = `${r.target}\u0000${r.itemId}`;
    let it = byKey.get(key);
    if (!it) {
      it = { item_id: r.itemId, target: r.target, output: r.output, scores: {} };
      byKey.set(key, it);
    }
    it.scores[r.scorer] = r.score;
  }
  const itemPos = new Map(order.items.map((id, i) => [id, i]));
  const targetPos = new Map(order.targets.map((t, i) => [t, i]));
  const out = [...byKey.values()].sort(
    (a, b) =>
      (itemPos.get(a.item_id) ?? Number.MAX_SAFE_INTEGER) - (itemPos.get(b.item_id) ?? Number.MAX_SAFE_INTEGER) ||
      (targetPos.get(a.target) ?? 0) - (targetPos.get(b.target) ?? 0),
  );
  for (const it of out) {
    const ordered: Record<string, number | null> = {};
    for (const s of order.scorers) if (s in it.scores) ordered[s] = it.scores[s]!;
    it.scores = ordered;
  }
  return out;
}

/** target → scorer → item → score, targets and scorers in the job's order. */
export function scoreTable(rows: readonly EvalScoreRow[], order: { targets: readonly string[]; scorers: readonly string[] } = { targets: [], scorers: [] }): ScoreTable {
  const table = new Map<string, Map<string, Map<string, number | null>>>();
  const present = new Set(rows.map((r) => r.target));
  for (const t of order.targets) if (present.has(t)) table.set(t, new Map(order.scorers.map((s) => [s, new Map()])));
  for (const r of rows) {
    let t = table.get(r.target);
    if (!t) table.set(r.target, (t = new Map()));
    let col = t.get(r.scorer);
    if (!col) t.set(r.scorer, (col = new Map()));
    col.set(r.itemId, r.score);
  }
  return table;
}
