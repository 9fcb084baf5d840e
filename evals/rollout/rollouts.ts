import { and, desc, eq, sql } from 'drizzle-orm';
import type { RouteConfig } from '../../gateway/config/routes-schema.ts';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { Logger } from '../../gateway/logger.ts';
import type { RouteWeightsStore, Tx } from '../../gateway/routing/weights-store.ts';
import { appendAudit, type PromptStore } from '../../prompts/index.ts';
import { incidents, notificationDeliveries, rollouts } from '../schema.ts';
import { readArms } from './arms.ts';
import { decideLook } from './decide.ts';
import { parsePromptRollout, parseRouteRollout } from './plan.ts';
import { promptTarget, routeTarget, storedPromptTarget, storedRouteTarget, type RolloutTarget } from './targets.ts';
import type { Evidence, RolloutPlan } from './types.ts';

/** Advisory lock key of the rollout leader ('sluiroll' in ASCII, folded into 63 bits). */
const LEADER_LOCK = 0x736c7569726f6c;
/** Evidence rows kept on the rollout (the audit log keeps every decision's evidence). */
const MAX_EVIDENCE = 600;
/** Who the audit log names for the engine's own decisions. */
const ENGINE = 'rollout-engine';

type RolloutRow = typeof rollouts.$inferSelect;
type Kind = RolloutRow['kind'];

export interface RolloutsOptions {
  database: Database;
  routes: Readonly<Record<string, RouteConfig>>;
  /** Writes route weights (not started: the serving store reloads on the NOTIFY or its poll). */
  weights: RouteWeightsStore;
  prompts: PromptStore;
  /** Every configured notification channel: a rollout's default `notify`. */
  channels: readonly string[];
  logger: Logger;
  /** Wall clock, epoch ms. */
  clock: () => number;
  /** The evaluation interval: a rollout looked at less than half of it ago is not looked at again. */
  intervalMs: number;
}

/** The JSON a rollout is shown as (DESIGN §4.6 `GET …/rollout`). */
export interface RolloutView {
  object: 'rollout';
  id: string;
  kind: Kind;
  target: string;
  candidate: string;
  control: string;
  state: RolloutRow['state'];
  /** Index into `steps` of the current (or last) step. */
  step: number;
  steps: number[];
  /** The candidate's share now, percent. */
  percent: number;
  weights: Record<string, number>;
  started_at: string;
  started_by: string;
  step_started_at: string;
  ended_at: string | null;
  incident: string | null;
  plan: RolloutPlan;
  p_values: number[];
  evidence: Evidence[];
}

export interface Rollouts {
  startRoute(route: string, body: unknown, actor: string): Promise<RolloutView>;
  startPrompt(name: string, label: string, body: unknown, actor: string): Promise<RolloutView>;
  /** The running rollout of a target, else its latest one; 404 when it never had one. */
  get(kind: Kind, target: string): Promise<RolloutView>;
  /** Aborts the running rollout and restores what was there before it; 404 when none runs. */
  abort(kind: Kind, target: string, actor: string): Promise<RolloutView>;
  /** One look at every running rollout, by whichever instance holds the lead now. */
  tick(): Promise<void>;
}

function view(row: RolloutRow): RolloutView {
  const plan = row.plan as unknown as RolloutPlan;
  const percent = row.weights[row.candidate] ?? 0;
  return {
    object: 'rollout',
    id: row.id,
    kind: row.kind,
    target: row.target,
    candidate: row.candidate,
    control: row.control,
    state: row.state,
    step: row.step,
    steps: plan.steps,
    percent,
    weights: row.weights,
    started_at: row.startedAt.toISOString(),
    started_by: row.startedBy,
    step_started_at: row.stepStartedAt.toISOString(),
    ended_at: row.endedAt?.toISOString() ?? null,
    incident: row.incidentId,
    plan,
    p_values: row.pValues,
    evidence: row.evidence as unknown as Evidence[],
  };
}

/**
 * Progressive rollouts with automatic rollback (DESIGN §4.6). Starting one writes the rollout, the
 * first step's traffic and an audit row in one transaction. The leader (advisory lock) looks at
 * every running rollout once per interval: it reads both arms from the call log since the start
 * (arms.ts), lets decide.ts say wait, advance, promote or roll back (always-valid p-values carried
 * from look to look, so repeated looks keep the false-rollback rate under 1 − confidence), and
 * applies the decision with its audit row — and, on a rollback, one incident and its notifications
 * — in the same transaction. Each rollout is looked at in its own savepoint: one failing (a prompt
 * deleted meanwhile) is logged and does not hold up the others.
 */
export function createRollouts(opts: RolloutsOptions): Rollouts {
  const { database } = opts;
  const db = database.db;
  const now = () => new Date(opts.clock());

  function targetOf(row: RolloutRow): RolloutTarget {
    if (row.kind === 'route') return storedRouteTarget(opts, row.target, row.candidate, row.control, row.previous);
    return storedPromptTarget(opts.prompts, row.target, Number(row.candidate), Number(row.control));
  }

  function checkNotify(plan: RolloutPlan): void {
    const unknown = (plan.notify ?? []).filter((c) => !opts.channels.includes(c));
    if (unknown.length > 0) {
      const known = opts.channels.length > 0 ? opts.channels.map((c) => `'${c}'`).join(', ') : 'none (config `notifications:`)';
      throw new GatewayError('invalid_request', `Invalid value for 'notify': no notification channel '${unknown[0]}'; configured: ${known}.`, { param: 'notify' });
    }
  }

  async function running(tx: Tx, kind: Kind, target: string): Promise<RolloutRow | undefined> {
    const [row] = await tx.select().from(rollouts).where(and(eq(rollouts.kind, kind), eq(rollouts.target, target), eq(rollouts.state, 'running')));
    return row;
  }

  async function begin(tx: Tx, t: RolloutTarget, plan: RolloutPlan, actor: string): Promise<RolloutView> {
    if (await running(tx, t.kind, t.target)) {
      throw new GatewayError('conflict', `A rollout of ${t.kind} '${t.target}' is already running; abort it first (DELETE …/rollout).`, { param: null });
    }
    const at = now();
    const percent = plan.steps[0]!;
    const [row] = await tx
      .insert(rollouts)
      .values({
        kind: t.kind,
        target: t.target,
        candidate: t.candidate,
        control: t.control,
        plan: plan as unknown as Record<string, unknown>,
        state: 'running',
        step: 0,
        weights: t.weightsAt(percent),
        previous: t.previous,
        pValues: plan.guards.map(() => 1),
        startedBy: actor,
        startedAt: at,
        stepStartedAt: at,
      })
      .returning();
    await t.apply(tx, percent, actor);
    await appendAudit(tx, { actor, action: 'rollout.start', subject: `${t.kind}:${t.target}`, before: t.previous, after: { rollout: row!.id, candidate: t.candidate, weights: row!.weights, plan } });
    opts.logger.info('rollout started', { kind: t.kind, target: t.target, candidate: t.candidate, percent });
    return view(row!);
  }

  /** A unique violation means another request started a rollout of the same target meanwhile. */
  const conflictOnRace = (kind: Kind, target: string) => (err: unknown) => {
    if (err instanceof GatewayError) throw err;
    const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (code === '23505') throw new GatewayError('conflict', `A rollout of ${kind} '${target}' is already running; abort it first (DELETE …/rollout).`, { param: null });
    throw err;
  };

  async function look(tx: Tx, row: RolloutRow, at: Date): Promise<void> {
    const plan = row.plan as unknown as RolloutPlan;
    const t = targetOf(row);
    const arms = await readArms({ db: tx as unknown as Database['db'] }, plan.guards, t.arms, {
      since: row.startedAt,
      stepSince: row.stepStartedAt,
      until: at,
      confidence: plan.confidence,
    });
    const result = decideLook(plan, {
      now: at.getTime(),
      step: row.step,
      stepStartedAt: row.stepStartedAt.getTime(),
      stepCounts: arms.stepCounts,
      totalCounts: arms.totalCounts,
      guards: arms.guards,
      previousP: row.pValues,
    });
    const evidence = [...(row.evidence as unknown as Evidence[]), ...result.evidence].slice(-MAX_EVIDENCE);
    const base = { pValues: result.p, evidence: evidence as unknown as Array<Record<string, unknown>>, evaluatedAt: at };
    const subject = `${row.kind}:${row.target}`;
    const audit = (action: string, after: Record<string, unknown>) =>
      appendAudit(tx, { actor: ENGINE, action, subject, before: { rollout: row.id, step: row.step, weights: row.weights }, after: { rollout: row.id, ...after, evidence: result.evidence } });
    switch (result.decision) {
      case 'wait':
        await tx.update(rollouts).set(base).where(eq(rollouts.id, row.id));
        return;
      case 'advance': {
        const step = row.step + 1;
        const percent = plan.steps[step]!;
        const weights = t.weightsAt(percent);
        await t.apply(tx, percent, ENGINE);
        await tx.update(rollouts).set({ ...base, step, weights, stepStartedAt: at }).where(eq(rollouts.id, row.id));
        await audit('rollout.advance', { step, weights });
        opts.logger.info('rollout advanced', { kind: row.kind, target: row.target, candidate: row.candidate, percent });
        return;
      }
      case 'promote': {
        const weights = t.weightsAt(100);
        await t.promote(tx, ENGINE);
        await tx.update(rollouts).set({ ...base, state: 'promoted', weights, endedAt: at }).where(eq(rollouts.id, row.id));
        await audit('rollout.promote', { state: 'promoted', weights });
        opts.logger.info('rollout promoted', { kind: row.kind, target: row.target, candidate: row.candidate });
        return;
      }
      case 'rollback': {
        const weights = t.weightsAt(0);
        await t.rollBack(tx, ENGINE);
        const incidentId = await openIncident(tx, row, plan, result.evidence, arms.examples, at);
        await tx.update(rollouts).set({ ...base, state: 'rolled_back', weights, endedAt: at, incidentId }).where(eq(rollouts.id, row.id));
        await audit('rollout.rollback', { state: 'rolled_back', weights, incident: incidentId });
        const breach = result.evidence.find((e) => e.decision === 'breach' || e.decision === 'rollback');
        opts.logger.warn('rollout rolled back', { kind: row.kind, target: row.target, candidate: row.candidate, metric: breach?.metric, p_value: breach?.p_value, incident: incidentId });
        return;
      }
    }
  }

  /** The incident of a rollback, with its notifications queued (the monitor runner delivers them). */
  async function openIncident(tx: Tx, row: RolloutRow, plan: RolloutPlan, evidence: Evidence[], examples: string[], at: Date): Promise<string> {
    const breach = evidence.find((e) => e.decision === 'breach') ?? evidence.find((e) => e.p_value !== null) ?? evidence[0]!;
    const guard = plan.guards.find((g) => g.metric === breach.metric);
    const alpha = (1 - plan.confidence) / Math.max(1, plan.guards.length);
    const [incident] = await tx
      .insert(incidents)
      .values({
        monitor: `rollout:${row.kind}:${row.target}`,
        scope: row.kind === 'route' ? { route: row.target, variant: row.candidate } : { prompt: row.target, version: row.candidate },
        metric: breach.metric,
        value: breach.candidate ?? 0,
        baseline: breach.control,
        detector: { type: 'sequential', test: 'msprt', confidence: plan.confidence, alpha_per_guard: alpha, p_value: breach.p_value, ...(guard ?? {}) },
        status: 'open',
        evidence: { rollout: row.id, candidate: row.candidate, control: row.control, looks: evidence, example_calls: examples },
        openedAt: at,
      })
      .returning({ id: incidents.id });
    const channels = plan.notify ?? opts.channels;
    if (channels.length > 0) {
      await tx.insert(notificationDeliveries).values(channels.map((channel) => ({ incidentId: incident!.id, channel, event: 'opened', status: 'pending' as const, createdAt: at })));
    }
    return incident!.id;
  }

  return {
    async startRoute(route, body, actor) {
      const { variant, plan } = parseRouteRollout(body);
      checkNotify(plan);
      return db
        .transaction(async (tx) => begin(tx, await routeTarget(opts, tx, route, variant), plan, actor))
        .catch(conflictOnRace('route', route));
    },
    async startPrompt(name, label, body, actor) {
      const { version, plan } = parsePromptRollout(body);
      checkNotify(plan);
      const t = await promptTarget(opts.prompts, name, label, version);
      return db.transaction((tx) => begin(tx, t, plan, actor)).catch(conflictOnRace('prompt', t.target));
    },
    async get(kind, target) {
      const [row] = await db
        .select()
        .from(rollouts)
        .where(and(eq(rollouts.kind, kind), eq(rollouts.target, target)))
        .orderBy(sql`(${rollouts.state} = 'running') desc`, desc(rollouts.startedAt))
        .limit(1);
      if (!row) throw new GatewayError('not_found', `No rollout of ${kind} '${target.slice(0, 200)}' yet.`, { param: null });
      return view(row);
    },
    async abort(kind, target, actor) {
      return db.transaction(async (tx) => {
        const row = await running(tx, kind, target);
        if (!row) throw new GatewayError('not_found', `No rollout of ${kind} '${target.slice(0, 200)}' is running.`, { param: null });
        const t = targetOf(row);
        await t.restore(tx, actor);
        const [ended] = await tx
          .update(rollouts)
          .set({ state: 'aborted', endedAt: now(), weights: (t.previous.weights as Record<string, number> | undefined) ?? t.weightsAt(0) })
          .where(eq(rollouts.id, row.id))
          .returning();
        await appendAudit(tx, { actor, action: 'rollout.abort', subject: `${kind}:${target}`, before: { rollout: row.id, step: row.step, weights: row.weights }, after: { rollout: row.id, state: 'aborted', restored: t.previous } });
        opts.logger.info('rollout aborted', { kind, target, by: actor });
        return view(ended!);
      });
    },
    async tick() {
      const at = now();
      await db.transaction(async (tx) => {
        const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LEADER_LOCK}) as locked`));
        if (!lock?.locked) return;
        const rows = await tx.select().from(rollouts).where(eq(rollouts.state, 'running'));
        for (const row of rows) {
          if (row.evaluatedAt && at.getTime() - row.evaluatedAt.getTime() < opts.intervalMs / 2) continue;
          await tx.transaction((sp) => look(sp, row, at)).catch((err: unknown) => {
            opts.logger.error('rollout evaluation failed', { kind: row.kind, target: row.target, err: String(err) });
          });
        }
      });
    },
  };
}
