/**
 * Measures the deterministic `groundedness` scorer on HaluEval QA (test/fixtures/halueval, see its
 * NOTE.md) and compares it with an answer-length baseline, which the dataset's artifact
 * (hallucinated answers are longer) makes strong. Prints AUROC:
 *   1. overall: 500 right answers (positives) vs 500 hallucinated ones;
 *   2. natural length-matched pairs: rows whose two answers have the same number of words;
 *   3. synthetic length-matched pairs: each right answer vs the same answer with one entity or
 *      number swapped for one of similar length drawn from another row's passage (absent from
 *      this row's passage and question) — only the swapped fact differs;
 *   4. the same with the swap drawn from the row's own passage (present in the context, so a
 *      lexical check cannot see it: this bounds what a deterministic scorer can claim).
 * Usage: node --import tsx bench/halueval-groundedness.ts [path/to/qa-one-turn.jsonl]
 */
import { readFileSync } from 'node:fs';
import { groundedness } from '../evals/scorers/groundedness.ts';
import { fold } from '../evals/scorers/text/normalize.ts';
import { claimsOf, supportIndex, type Unit } from '../evals/scorers/text/units.ts';
import { auroc, pairedWinRate } from '../evals/stats/auroc.ts';
import { createRng } from '../evals/stats/prng.ts';

interface Row {
  knowledge: string;
  question: string;
  right_answer: string;
  hallucinated_answer: string;
}

const path = process.argv[2] ?? new URL('../test/fixtures/halueval/qa-one-turn.jsonl', import.meta.url).pathname;
const rows: Row[] = readFileSync(path, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Row);

/** Null (nothing checkable) reads as "nothing unsupported found". */
const score = (answer: string, r: Row): number => groundedness(answer, r.knowledge, r.question).score ?? 1;
const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;
const nulls = (answers: string[], rs: Row[]) => answers.filter((a, i) => groundedness(a, rs[i]!.knowledge, rs[i]!.question).score === null).length;

function f1(posScores: number[], negScores: number[], threshold: number): { f1: number; precision: number; recall: number } {
  // Predict "hallucinated" when score < threshold; hallucinated answers are the class of interest.
  const tp = negScores.filter((s) => s < threshold).length;
  const fp = posScores.filter((s) => s < threshold).length;
  const fn = negScores.length - tp;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return { f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, precision, recall };
}

const fmt = (x: number) => x.toFixed(3);
const line = (label: string, n: string, g: number, len: number) =>
  console.log(`${label.padEnd(58)} ${n.padEnd(16)} groundedness AUROC ${fmt(g)}   length baseline AUROC ${fmt(len)}`);

// 1. Overall.
const right = rows.map((r) => score(r.right_answer, r));
const hall = rows.map((r) => score(r.hallucinated_answer, r));
line('overall (right vs hallucinated answers)', `${rows.length * 2} answers`, auroc(right, hall), auroc(rows.map((r) => -words(r.right_answer)), rows.map((r) => -words(r.hallucinated_answer))));
console.log(
  `  null (nothing checkable): right ${nulls(rows.map((r) => r.right_answer), rows)}, hallucinated ${nulls(rows.map((r) => r.hallucinated_answer), rows)} (scored as 1)`,
);
for (const t of [1, 0.75, 0.5]) {
  const m = f1(right, hall, t);
  console.log(`  flag hallucinated when score < ${t}: F1 ${fmt(m.f1)} (precision ${fmt(m.precision)}, recall ${fmt(m.recall)})`);
}

// 2. Natural length-matched pairs.
const same = rows.filter((r) => words(r.right_answer) === words(r.hallucinated_answer));
line('natural pairs with equal word counts', `${same.length} pairs`, pairedWinRate(same.map((r) => [score(r.right_answer, r), score(r.hallucinated_answer, r)] as const)), 0.5);

// 3–4. Synthetic swaps.
const swappable = (u: Unit) => u.kind === 'entity' || u.kind === 'number';
const unitsOf = (text: string) => claimsOf(text).flatMap((c) => c.units).filter(swappable);
const pool = rows.flatMap((r, i) => unitsOf(r.knowledge).map((u) => ({ u, row: i })));

function tokensRegex(u: Unit): RegExp {
  const parts = u.text.split(' ').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`\\b${parts.join('\\W+')}\\b`);
}

function swapPairs(source: 'dataset' | 'passage', seed: string): Array<{ right: string; swapped: string; row: Row }> {
  const rng = createRng(seed);
  const out: Array<{ right: string; swapped: string; row: Row }> = [];
  rows.forEach((r, i) => {
    const answer = fold(r.right_answer);
    const candidates = unitsOf(answer);
    if (candidates.length === 0) return;
    const target = candidates[Math.floor(rng() * candidates.length)]!;
    const idx = supportIndex(r.knowledge, r.question);
    const len = target.text.length;
    const similar = (u: Unit) => u.kind === target.kind && Math.abs(u.text.length - len) <= Math.max(2, Math.round(0.3 * len)) && u.key.join(' ') !== target.key.join(' ');
    const options =
      source === 'dataset'
        ? pool.filter((p) => p.row !== i && similar(p.u) && !idx.phrase.includes(` ${p.u.key.join(' ')} `) && !(p.u.kind === 'number' && idx.numbers.has(p.u.key[0]!)))
        : unitsOf(r.knowledge).filter(similar).filter((u) => !fold(r.right_answer).toLowerCase().includes(u.text.toLowerCase())).map((u) => ({ u, row: i }));
    if (options.length === 0) return;
    const pick = options[Math.floor(rng() * options.length)]!.u;
    const swapped = answer.replace(tokensRegex(target), pick.text);
    if (swapped === answer) return;
    out.push({ right: answer, swapped, row: r });
  });
  return out;
}

for (const [source, label] of [
  ['dataset', 'right vs one entity/number swapped (from other passages)'],
  ['passage', 'right vs one entity/number swapped (from the same passage)'],
] as const) {
  const pairs = swapPairs(source, `halueval-${source}`);
  const g = pairedWinRate(pairs.map((p) => [score(p.right, p.row), score(p.swapped, p.row)] as const));
  const len = pairedWinRate(pairs.map((p) => [-p.right.length, -p.swapped.length] as const));
  line(label, `${pairs.length} pairs`, g, len);
}
console.log('(length baseline: shorter = more grounded; word count, character count for the swaps. Pairs: share of pairs where the right answer scores higher, ties ½ — the AUROC of the pair)');
