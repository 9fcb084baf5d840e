import { EVAL_USAGE } from '../../evals/usage.ts';
import { PromptError } from '../../prompts/errors.ts';
import { parseEnv, type RawEnv } from '../config/env.ts';
import { ConfigError } from '../config/load.ts';
import { IngestError } from '../rag/ingest.ts';
import { processIo, type CliIo } from './io.ts';
import { CliRefusal, ServerRequestError } from './server-client.ts';

const usage = () => `usage: sluice <command>

commands:
  serve       run the gateway (same as npm start)
  migrate     apply database migrations (DATABASE_URL, else embedded PGlite in SLUICE_DATA_DIR)
  keys create --name NAME [--scope inference|admin] [--team T] [--budget 25/month] [--rpm N] [--tpm N]
              [--models GLOB,...] [--prompts GLOB,...] [--expires ISO-TIME]
              mint a gateway key and print it (only this once); scope defaults to inference
  keys list   every key: id, name, scope, prefix, team, budget, limits, expiry, use (never a secret)
  keys revoke ID
  prompts push <dir>   create versions from prompt files (YAML, or Markdown with front matter)
  prompts pull <dir>   write every prompt's latest version (and its labels) as files
  docs ingest <dir|file.jsonl> --collection X   chunk and load documents for retrieval (RAG)
  replay <call-id>     send a logged call's request through the gateway again and print the answer
  incidents [--status open|resolved]   monitors' incidents, newest first
  incidents ack|resolve ID
  rollout start route NAME --variant V | prompt NAME@LABEL --version N  [--steps 5,25,50,100]
              [--step-seconds 300] [--min-samples 100] [--confidence 0.95] [--guard METRIC=TOL]...
              progressive rollout with automatic rollback (see README "Rollouts")
  rollout status|abort route NAME | prompt NAME@LABEL
  help        show this text

${EVAL_USAGE}

embedded database (no DATABASE_URL): one process owns SLUICE_DATA_DIR. While \`sluice serve\` runs,
the commands above go through that server's admin API (keys, prompts, docs, eval run/report,
replay) or stop with exit code 2 naming it (worker, eval report --html); never a silent copy.

environment: PORT, HOST, DATABASE_URL, SLUICE_DATA_DIR, SLUICE_CONFIG, SLUICE_ADMIN_KEY, REDIS_URL`;

/**
 * The CLI entry: returns the process exit code. The command that runs parses `vars` (the
 * process environment) once; `serve` leaves it to the server, which exits 78 on a bad value.
 * Each command's modules are loaded when it runs: `sluice help` or `sluice keys list` does not
 * load the server, the evals and OpenTelemetry (1.2-1.6 s and 180 MB before, 5-7 s under load).
 */
export async function run(argv: string[], vars: RawEnv, io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const [{ runServer }, { evalExtension }] = await Promise.all([import('../server.ts'), import('./serve-command.ts')]);
        await runServer(vars, evalExtension);
        return 0;
      }
      case 'eval':
      case 'worker':
        return await (await import('../../evals/index.ts')).runEvalCli(argv, vars);
      case 'keys':
        return await (await import('./keys-command.ts')).keysCommand(rest, parseEnv(vars), io);
      case 'incidents':
        return await (await import('./incidents-command.ts')).incidentsCommand(rest, parseEnv(vars), io);
      case 'rollout':
        return await (await import('./rollout-command.ts')).rolloutCommand(rest, parseEnv(vars), io);
      case 'replay':
        return await (await import('./replay-command.ts')).replayCommand(rest, parseEnv(vars), io);
      case 'migrate':
        return await (await import('./serve-command.ts')).migrateCommand(parseEnv(vars), io);
      case 'prompts':
        return await (await import('./prompts-command.ts')).promptsCommand(rest, parseEnv(vars), io);
      case 'docs':
        return await (await import('./docs-command.ts')).docsCommand(rest, parseEnv(vars), io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(`${usage()}\n`);
        return command === undefined ? 2 : 0;
      default:
        io.err(`sluice: unknown command '${command.slice(0, 100)}'\n\n${usage()}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof CliRefusal || err instanceof ConfigError) {
      io.err(`sluice: ${err.message}\n`);
      return 2;
    }
    // The command ran and failed: a bad file, or the server refused the change.
    if (err instanceof PromptError || err instanceof IngestError || err instanceof ServerRequestError) {
      io.err(`sluice ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
