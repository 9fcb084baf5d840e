import { writeFileSync } from 'node:fs';
import { parseEnv, type RawEnv, type SluiceEnv } from '../gateway/config/env.ts';
import { ConfigError } from '../gateway/config/load.ts';
import { dataAccess, throughServerNote, withDirectDatabase } from '../gateway/cli/data-access.ts';
import { CliRefusal, ServerRequestError, type ServerClient } from '../gateway/cli/server-client.ts';
import type { Database } from '../gateway/db/client.ts';
import { createJsonLogger, type Logger } from '../gateway/logger.ts';
import { PromptStore } from '../prompts/index.ts';
import { DatasetError } from './datasets.ts';
import { inProcessGateway, remoteGateway, type GatewayClient } from './gateway-client.ts';
import { JobError, loadJobFile } from './job.ts';
import { openEvalQueue } from './queue/index.ts';
import { renderHtmlReport } from './report/html.ts';
import { loadReportInput } from './report/load.ts';
import { renderTable } from './report/table.ts';
import { progressBar } from './run/progress.ts';
import { getRun } from './run/store.ts';
import { runJob, type EvalSummary } from './runner.ts';
import { runViaServer } from './run-via-server.ts';
import { loadSchedules } from './schedule/schedules.ts';
import { startWorker } from './worker.ts';
import { EVAL_USAGE } from './usage.ts';

export { EVAL_USAGE } from './usage.ts';

/** Exit codes: 0 done, 1 regression, 2 usage error or the run could not be done. */
export const EXIT = { ok: 0, regression: 1, error: 2 } as const;

interface Flags {
  positional: string[];
  values: Map<string, string>;
}

function parseFlags(args: readonly string[], known: readonly string[]): Flags | string {
  const positional: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [flag, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (!known.includes(flag)) return `unknown option --${flag}`;
    const value = inline ?? args[++i];
    if (value === undefined) return `--${flag} needs a value`;
    values.set(flag, value);
  }
  return { positional, values };
}

async function gatewayFor(flags: Flags, env: SluiceEnv, database: Database, logger: Logger): Promise<GatewayClient> {
  const url = flags.values.get('gateway');
  if (url) {
    const key = flags.values.get('key') ?? env.SLUICE_API_KEY ?? env.SLUICE_ADMIN_KEY;
    if (!key) throw new JobError('--gateway needs --key (or SLUICE_API_KEY)');
    return remoteGateway(url, key);
  }
  return inProcessGateway({ env, database, logger });
}

async function evalRun(args: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const flags = parseFlags(args, ['json', 'gateway', 'key']);
  if (typeof flags === 'string' || flags.positional.length !== 1) {
    io.err(`${typeof flags === 'string' ? `${flags}\n` : ''}usage: sluice eval run <job.yaml> [--json out.json] [--gateway URL --key K]\n`);
    return EXIT.error;
  }
  const { raw } = loadJobFile(flags.positional[0]!);
  const access = await dataAccess(env, 'eval run');
  if (access.kind === 'server') return evalRunViaServer(access.server, raw, flags, io);
  return access.withDatabase(async (database) => {
    const client = await gatewayFor(flags, env, database, io.logger);
    try {
      const out = await runJob(raw, { database, client, progress: progressBar(io.stderr), prompts: new PromptStore(database) });
      if (out.status === 'failed' || !out.summary) {
        io.err(`eval run ${out.runId} failed: ${out.error}\n`);
        return EXIT.error;
      }
      return finish(out.runId, out.summary, out.items, flags, io);
    } finally {
      await client.close();
    }
  });
}

/** The table, the optional --json file and the exit code: the same for a local and a server run. */
function finish(runId: string, summary: EvalSummary, items: unknown, flags: Flags, io: CliIo): number {
  io.out(renderTable(runId, summary));
  const jsonPath = flags.values.get('json');
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ run_id: runId, summary, items }, null, 2)}\n`);
  return summary.regression ? EXIT.regression : EXIT.ok;
}

/** The embedded data directory is the server's: its worker runs the job (run-via-server.ts). */
async function evalRunViaServer(server: ServerClient, raw: Record<string, unknown>, flags: Flags, io: CliIo): Promise<number> {
  const gateway = flags.values.get('gateway');
  const norm = (u: string) => u.replace(/\/+$/, '').replace(/\/v1$/, '');
  if (gateway && norm(gateway) !== norm(server.server.url)) {
    throw new CliRefusal(
      `${server.describe()} owns the data directory, so it runs this job and records it; --gateway ${gateway} names another gateway: drop --gateway, or use DATABASE_URL to share a Postgres server`,
    );
  }
  io.err(throughServerNote(server));
  const out = await runViaServer(server, raw, progressBar(io.stderr));
  if (out.status === 'failed' || !out.summary) {
    io.err(`eval run ${out.runId} failed: ${out.error}\n`);
    return EXIT.error;
  }
  return finish(out.runId, out.summary, out.items, flags, io);
}

async function evalReport(args: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const flags = parseFlags(args, ['html']);
  if (typeof flags === 'string' || flags.positional.length !== 1) {
    io.err(`${typeof flags === 'string' ? `${flags}\n` : ''}usage: sluice eval report <run-id> [--html out.html]\n`);
    return EXIT.error;
  }
  const runId = flags.positional[0]!;
  const htmlPath = flags.values.get('html');
  const access = await dataAccess(env, 'eval report');
  if (access.kind === 'server') {
    // The HTML report needs the stored score rows and run history, which the API does not serve.
    if (htmlPath) throw new CliRefusal(`the data directory ${access.server.server.dataDir} is in use by ${access.server.describe()}: \`eval report --html\` reads the database itself; stop the server and run it again (the table, without --html, works through the server)`);
    return evalReportViaServer(access.server, runId, io);
  }
  return access.withDatabase(async (database) => {
    const run = await getRun(database, runId);
    if (!run) {
      io.err(`no eval run ${runId}\n`);
      return EXIT.error;
    }
    if (htmlPath) {
      writeFileSync(htmlPath, renderHtmlReport(await loadReportInput(database, run)));
      io.out(`wrote ${htmlPath}\n`);
      return EXIT.ok;
    }
    if (!run.summary) {
      io.err(`eval run ${runId} is ${run.status}${run.error ? `: ${run.error}` : ''}\n`);
      return EXIT.error;
    }
    io.out(renderTable(run.id, run.summary as unknown as EvalSummary));
    return EXIT.ok;
  });
}

async function worker(args: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const flags = parseFlags(args, ['concurrency', 'schedules']);
  const concurrency = typeof flags === 'string' ? Number.NaN : Number(flags.values.get('concurrency') ?? '1');
  if (typeof flags === 'string' || flags.positional.length > 0 || !Number.isInteger(concurrency) || concurrency < 1) {
    io.err(`${typeof flags === 'string' ? `${flags}\n` : ''}usage: sluice worker [--concurrency N] [--schedules file.yaml]\n`);
    return EXIT.error;
  }
  const schedulesPath = flags.values.get('schedules') ?? env.SLUICE_EVAL_SCHEDULES;
  const schedules = schedulesPath ? loadSchedules(schedulesPath) : [];
  const refusal = 'the server runs queued eval jobs itself on an embedded database; stop it to run a separate worker, or use DATABASE_URL (Postgres) to run any number of workers beside it';
  // The worker owns the embedded directory for as long as it runs.
  return withDirectDatabase(env, 'worker', refusal, async (database) => {
    const client = await inProcessGateway({ env, database, logger: io.logger });
    const queue = await openEvalQueue(database, { databaseUrl: env.DATABASE_URL, logger: io.logger });
    const running = await startWorker({ database, queue, client, prompts: new PromptStore(database), logger: io.logger, concurrency, schedules });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    io.logger.info('eval worker stopping', { worker: running.id });
    await running.stop();
    await client.close();
    return EXIT.ok;
  });
}

/** `eval report <run-id>` (the table) through the server that owns the data directory. */
async function evalReportViaServer(server: ServerClient, runId: string, io: CliIo): Promise<number> {
  let run: { id: string; status: string; error: string | null; summary: EvalSummary | null };
  try {
    run = await server.request('GET', `/api/evals/runs/${encodeURIComponent(runId)}`);
  } catch (err) {
    if (err instanceof ServerRequestError && err.status === 404) {
      io.err(`no eval run ${runId}\n`);
      return EXIT.error;
    }
    throw err;
  }
  if (!run.summary) {
    io.err(`eval run ${runId} is ${run.status}${run.error ? `: ${run.error}` : ''}\n`);
    return EXIT.error;
  }
  io.out(renderTable(run.id, run.summary));
  return EXIT.ok;
}

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  logger: Logger;
}

const processIo = (): CliIo => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stderr: process.stderr,
  // The command prints its own progress: the gateway's per-call lines would only be noise here.
  logger: createJsonLogger({ level: 'warn' }),
});

/**
 * The eval commands of the `sluice` CLI: `eval run`, `eval report`, `worker` (argv from the
 * command word on; `vars` is the process environment, parsed here once). Returns the exit code.
 */
export async function runEvalCli(argv: readonly string[], vars: RawEnv, io: CliIo = processIo()): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    const env = parseEnv(vars);
    if (command === 'worker') return await worker(argv.slice(1), env, io);
    if (command === 'eval' && sub === 'run') return await evalRun(rest, env, io);
    if (command === 'eval' && sub === 'report') return await evalReport(rest, env, io);
    io.err(`usage:\n${EVAL_USAGE}\n`);
    return EXIT.error;
  } catch (err) {
    if (err instanceof JobError || err instanceof DatasetError || err instanceof ConfigError || err instanceof CliRefusal || err instanceof ServerRequestError) {
      // Exit 1 means "regression" to a CI gate: a run that could not be done is 2.
      io.err(`${err instanceof CliRefusal ? 'sluice: ' : ''}${err.message}\n`);
      return EXIT.error;
    }
    throw err;
  }
}

