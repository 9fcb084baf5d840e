import { guardCounts, guardTest } from './sequential.ts';
import type { Decision, Evidence, Look, LookResult, RolloutPlan } from './types.ts';

/**
 * One look of a rollout (DESIGN §4.6), pure: test the guards, then roll back, advance, promote
 * or wait.
 *
 * - Guards are tested only once both arms have plan.min_samples calls since the start and the
 *   guard's own data has min_samples on each arm (scored calls for scores, OK calls for
 *   latency); otherwise its row says 'insufficient_data' and its p-value is carried unchanged.
 * - α = 1 − confidence is split by Bonferroni: a guard is breached when its always-valid p-value
 *   (sequential.ts) is ≤ α/k, k = the plan's guard count (configured guards, tested or not).
 * - Any breach rolls back. Otherwise the step is over once step_seconds have passed and each arm
 *   has min_samples calls in the step: 'promote' when the next step is 100% or there is none,
 *   else 'advance'. Otherwise 'wait'.
 *
 * Evidence: one row per guard. A tested guard's row says 'breach' when it breached, else the
 * look's step decision ('ok' on a wait, 'advance', 'promote', and 'rollback' on the rows of the
 * guards that did not breach when another one did); an untested guard's row says
 * 'insufficient_data', with p_value null (its running p-value is still carried in `p`).
 */
export function decideLook(plan: RolloutPlan, look: Look): LookResult {
  const at = new Date(look.now).toISOString();
  const alpha = (1 - plan.confidence) / Math.max(1, plan.guards.length);
  const enough = (n: { control: number; candidate: number }) => n.control >= plan.min_samples && n.candidate >= plan.min_samples;
  const started = enough(look.totalCounts);

  const p: number[] = [];
  const rows: Array<{ row: Evidence; tested: boolean; breached: boolean }> = [];
  plan.guards.forEach((guard, i) => {
    const data = look.guards[i] ?? null;
    const previous = look.previousP[i] ?? 1;
    if (!data) {
      p.push(previous);
      rows.push({ row: { at, metric: guard.metric, control: null, candidate: null, delta: null, p_value: null, decision: 'insufficient_data' }, tested: false, breached: false });
      return;
    }
    const n = guardCounts(data);
    const tested = started && enough(n);
    const t = guardTest(guard, data, previous);
    const pValue = tested ? t.pValue : previous;
    const breached = tested && pValue <= alpha;
    p.push(pValue);
    rows.push({
      row: {
        at,
        metric: guard.metric,
        control: finite(t.control),
        candidate: finite(t.candidate),
        delta: finite(t.delta),
        p_value: tested ? pValue : null,
        decision: breached ? 'breach' : tested ? 'ok' : 'insufficient_data',
        n_control: n.control,
        n_candidate: n.candidate,
      },
      tested,
      breached,
    });
  });

  const decision = stepDecision(plan, look, rows.some((r) => r.breached));
  const evidence = rows.map(({ row, tested, breached }) => (tested && !breached && decision !== 'wait' ? { ...row, decision } : row));
  return { decision, p, evidence };
}

function stepDecision(plan: RolloutPlan, look: Look, breached: boolean): Decision {
  if (breached) return 'rollback';
  const due = look.now - look.stepStartedAt >= plan.step_seconds * 1000;
  const filled = look.stepCounts.control >= plan.min_samples && look.stepCounts.candidate >= plan.min_samples;
  if (!due || !filled) return 'wait';
  const next = plan.steps[look.step + 1];
  return next === undefined || next >= 100 ? 'promote' : 'advance';
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
