import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isScorerName, SCORER_NAMES, scorerFor, type ScorerName } from './scorers/registry.ts';
import type { Scorer } from './scorers/types.ts';

/**
 * The eval job (DESIGN §6): a YAML file for `sluice eval run`, the same object as the body of
 * `POST /api/evals/runs {job}`. Strict everywhere, so a typo fails with its path.
 */
const providerModel = z.string().regex(/^[^/\s]+\/\S+$/, 'must be provider/model');
const promptRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be 'name@version' or 'name@label'");
/** ISO 8601 timestamp, or a duration back from now: 30m, 24h, 7d. */
const when = z.string().regex(/^(\d+[mhd]|\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?)$/, 'must be an ISO timestamp or a duration like 24h / 7d');

export const fromLogsSchema = z.strictObject({
  route: z.string().optional(),
  variant: z.string().optional(),
  model: z.string().optional(),
  /** `name` (any version) or `name@3`. */
  prompt: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(@\d+)?$/, "must be 'name' or 'name@<version>'").optional(),
  since: when.optional(),
  until: when.optional(),
  /** An integer ≥ 1 is a count; a number in (0, 1) a fraction of the matching calls. */
  sample: z.number().positive().refine((n) => n < 1 || Number.isInteger(n), 'a count must be an integer; a fraction must be below 1'),
  seed: z.union([z.number().int(), z.string()]).optional(),
  /** Give the items to the job's targets again instead of scoring the logged answers. */
  replay: z.boolean().default(false),
});
export type FromLogsSpec = z.output<typeof fromLogsSchema>;

export const datasetSpecSchema = z.union([
  z.strictObject({ path: z.string().min(1), name: z.string().min(1).optional() }),
  z.strictObject({ from_logs: fromLogsSchema, name: z.string().min(1).optional() }),
  z.strictObject({ items: z.array(z.unknown()).min(1), name: z.string().min(1).optional() }),
  z.strictObject({ name: z.string().min(1), version: z.string().min(1).optional() }),
]);
export type DatasetSpec = z.output<typeof datasetSpecSchema>;

export const targetSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*'),
  /** A route name, a configured model alias, or provider/model. */
  model: z.string().min(1),
  prompt: promptRef.optional(),
  /** Extra request fields (max_tokens, response_format, …); `temperature`/`seed` override the job's. */
  params: z.record(z.string(), z.unknown()).optional(),
  /** Pass the item's `context` to the prompt as this variable. */
  context_variable: z.string().optional(),
});
export type Target = z.output<typeof targetSchema>;

const scorerSpec = z.union([z.string(), z.looseObject({ name: z.string(), as: z.string().optional() })]);

export const jobSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/, 'letters, digits, . _ - and spaces'),
  description: z.string().optional(),
  mode: z.enum(['offline', 'online']).default('offline'),
  dataset: datasetSpecSchema,
  targets: z.array(targetSchema).default([]),
  baseline: z.string().optional(),
  scorers: z.array(scorerSpec).min(1),
  gate: z
    .strictObject({
      scorer: z.string(),
      max_drop: z.number().min(0).default(0),
      confidence: z.number().gt(0.5).lt(1).default(0.95),
    })
    .optional(),
  /** Default judge (provider/model) for judge scorers that name none. */
  judge: providerModel.optional(),
  concurrency: z.number().int().min(1).max(64).default(4),
  seed: z.number().int().default(42),
  temperature: z.number().min(0).max(2).default(0),
  /** Bootstrap and permutation resamples for the regression statistics. */
  resamples: z.number().int().min(100).max(100_000).default(2000),
  /** Cron expression (evals/schedule); ignored by a one-off run. */
  schedule: z.string().optional(),
});

export type Job = z.output<typeof jobSchema>;

export interface ResolvedScorer {
  /** Key in results (`as`, else the scorer name); unique within a job. */
  key: string;
  name: ScorerName;
  scorer: Scorer<z.ZodType>;
  options: unknown;
}

export interface ParsedJob {
  job: Job;
  scorers: ResolvedScorer[];
}

export class JobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobError';
  }
}

function issuesText(error: z.ZodError, prefix: string[] = []): string {
  return error.issues
    .map((i) => {
      const where = [...prefix, ...i.path.map(String)].join('.') || '(root)';
      return i.code === 'unrecognized_keys' ? `${where}: unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}` : `${where}: ${i.message}`;
    })
    .join('; ');
}

/** Validates a job object; every error names its path (`scorers.1.judge: …`). */
export function parseJob(raw: unknown): ParsedJob {
  const r = jobSchema.safeParse(raw);
  if (!r.success) throw new JobError(`invalid job: ${issuesText(r.error)}`);
  const job = r.data;
  const scorers = job.scorers.map((spec, i) => resolveScorer(spec, i, job.judge));
  const keys = new Set<string>();
  for (const s of scorers) {
    if (keys.has(s.key)) throw new JobError(`invalid job: scorers: '${s.key}' appears twice; give one an 'as' name`);
    keys.add(s.key);
  }
  const names = new Set<string>();
  for (const t of job.targets) {
    if (names.has(t.name)) throw new JobError(`invalid job: targets: two targets are named '${t.name}'`);
    if (t.name === 'dataset') throw new JobError("invalid job: targets: 'dataset' is reserved for score-only items");
    names.add(t.name);
  }
  if (job.baseline !== undefined && !names.has(job.baseline)) throw new JobError(`invalid job: baseline: '${job.baseline}' is not a target`);
  if (job.gate && !keys.has(job.gate.scorer)) throw new JobError(`invalid job: gate.scorer: '${job.gate.scorer}' is not one of the job's scorers`);
  if (job.mode === 'online') {
    if (!('from_logs' in job.dataset)) throw new JobError('invalid job: dataset: an online job reads { from_logs: … }');
    if (job.targets.length > 0) throw new JobError('invalid job: targets: an online job scores logged answers; it has no targets');
  }
  return { job, scorers };
}

function resolveScorer(spec: z.output<typeof scorerSpec>, i: number, defaultJudge: string | undefined): ResolvedScorer {
  return resolveScorerSpec(spec, ['scorers', String(i)], defaultJudge, 'invalid job: ');
}

/**
 * A scorer named in a job or in a route's `online_scoring` (a name, or `{name, as?, …options}`),
 * with its options checked by its own schema. A bad one is a JobError naming its path.
 */
export function resolveScorerSpec(spec: unknown, path: readonly string[], defaultJudge?: string, prefix = ''): ResolvedScorer {
  const parsed = scorerSpec.safeParse(spec);
  if (!parsed.success) throw new JobError(`${prefix}${path.join('.')}: a scorer is a name or {name, …options}`);
  const { name, as, ...rest } = typeof parsed.data === 'string' ? { name: parsed.data, as: undefined } : parsed.data;
  if (!isScorerName(name)) throw new JobError(`${prefix}${[...path, 'name'].join('.')}: unknown scorer '${name}' (known: ${SCORER_NAMES.join(', ')})`);
  const scorer = scorerFor(name);
  const given: Record<string, unknown> = { ...rest };
  if (scorer.kind === 'judge' && given.judge === undefined && defaultJudge !== undefined) given.judge = defaultJudge;
  const r = scorer.options.safeParse(given);
  if (!r.success) throw new JobError(`${prefix}${issuesText(r.error, [...path])}`);
  return { key: typeof as === 'string' && as ? as : name, name, scorer, options: r.data };
}

/**
 * Reads a YAML (or JSON) job file. A relative dataset path is taken from the job file's folder
 * when the file is there, else from the working directory.
 */
export function loadJobFile(path: string): { raw: Record<string, unknown>; parsed: ParsedJob } {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new JobError(`cannot read job file ${path}: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new JobError(`job file ${path}: expected a mapping at the top`);
  const obj = raw as Record<string, unknown>;
  const ds = obj.dataset as Record<string, unknown> | undefined;
  if (ds && typeof ds.path === 'string' && !isAbsolute(ds.path)) {
    const beside = resolve(dirname(path), ds.path);
    obj.dataset = { ...ds, path: existsSync(beside) ? beside : resolve(ds.path) };
  }
  return { raw: obj, parsed: parseJob(obj) };
}
