import { join } from 'node:path';

import { PromptStore, pullPrompts, pushPrompts } from '../../prompts/index.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { loadConfig } from '../config/load.ts';
import { providerEmbedder } from '../pipeline/embed.ts';
import { closeProviders, createProviders } from '../providers/registry.ts';
import { createRag, docsIngestCommand } from '../rag/index.ts';
import { createModelResolver } from '../routing/resolve-model.ts';
import { evalRoutes, EVAL_USAGE, feedbackRoutes, openEvalQueue, runEvalCli } from '../../evals/index.ts';
import { randomBytes } from 'node:crypto';
import { getCall } from '../calls/queries.ts';
import { silentLogger } from '../logger.ts';
import { composeGateway, runServer, type Env, type ExtendFn } from '../server.ts';

const usage = () => `usage: sluice <command>

commands:
  serve       run the gateway (same as npm start)
  migrate     apply database migrations (DATABASE_URL, else embedded PGlite in SLUICE_DATA_DIR)
  prompts push <dir>   create versions from prompt files (YAML, or Markdown with front matter)
  prompts pull <dir>   write every prompt's latest version (and its labels) as files
  docs ingest <dir|file.jsonl> --collection X   chunk and load documents for retrieval (RAG)
  replay <call-id>     send a logged call's request through the gateway again and print the answer
  help        show this text

${EVAL_USAGE}

environment: PORT, HOST, DATABASE_URL, SLUICE_CONFIG, SLUICE_ADMIN_KEY, SLUICE_DATA_DIR`;

const ENDPOINT_PATHS: Record<string, string> = {
  'chat.completions': '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
  responses: '/v1/responses',
};

/** `sluice replay <call-id>`: the logged request, sent again through an in-process gateway. */
async function replay(callId: string | undefined, env: Env): Promise<number> {
  if (!callId) {
    process.stderr.write('usage: sluice replay <call-id>\n');
    return 2;
  }
  return withDatabase(env, async (database) => {
    const call = await getCall(database, callId);
    if (!call?.payload?.request) {
      process.stderr.write(`sluice: no logged request for call ${callId}\n`);
      return 1;
    }
    const key = `sk-sluice-replay-${randomBytes(16).toString('hex')}`;
    const gateway = await composeGateway({ config: loadConfig(env), database, env, logger: silentLogger, adminKey: key });
    try {
      const res = await gateway.app.fetch(
        new Request(`http://sluice.local${ENDPOINT_PATHS[call.endpoint] ?? '/v1/chat/completions'}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(call.payload.request),
        }),
      );
      process.stdout.write(`${await res.text()}\n`);
      process.stderr.write(`replayed ${callId} as ${res.headers.get('x-sluice-call-id') ?? '?'} (HTTP ${res.status})\n`);
      return res.ok ? 0 : 1;
    } finally {
      await gateway.close();
    }
  });
}

/** The eval API (/api/evals, /api/feedback) is mounted by this entry: gateway/ never imports evals/. */
const evalExtension: ExtendFn = async ({ database, logger, env }) => {
  const queue = await openEvalQueue(database, { databaseUrl: env.DATABASE_URL || undefined, logger });
  return {
    routes: [
      { path: '/evals', app: evalRoutes({ database, queue, clock: Date.now }) },
      { path: '/feedback', app: feedbackRoutes({ database }) },
    ],
    stop: () => queue.stop(),
  };
};

/** Opens the configured database, applies migrations, runs `fn`, closes. */
async function withDatabase(env: Env, fn: (database: Database) => Promise<number>): Promise<number> {
  const database = await openDatabase({ url: env.DATABASE_URL || undefined, dataDir: join(env.SLUICE_DATA_DIR || './.sluice', 'pgdata') });
  try {
    await database.migrate();
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The CLI entry: returns the process exit code. */
export async function run(argv: string[], env: Env): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve':
      await runServer(env, evalExtension);
      return 0;
    case 'eval':
    case 'worker':
      return runEvalCli(argv, env);
    case 'replay':
      return replay(argv[1], env);
    case 'migrate':
      return withDatabase(env, async (database) => {
        process.stdout.write(`migrations applied (${database.kind})\n`);
        return 0;
      });
    case 'prompts': {
      const [, action, dir] = argv;
      if ((action !== 'push' && action !== 'pull') || !dir) {
        process.stderr.write('usage: sluice prompts push|pull <dir>\n');
        return 2;
      }
      return withDatabase(env, async (database) => {
        const store = new PromptStore(database);
        if (action === 'pull') {
          const { written } = await pullPrompts(dir, store);
          process.stdout.write(`wrote ${written.length} prompt file(s) to ${dir}\n`);
          return 0;
        }
        const summary = await pushPrompts(dir, store, env.USER ? `cli:${env.USER}` : 'cli');
        for (const c of summary.created) process.stdout.write(`created ${c.name}@${c.version}\n`);
        for (const m of summary.labelsMoved) process.stdout.write(`moved ${m.name}@${m.label}: ${m.from ?? '-'} -> ${m.to}\n`);
        process.stdout.write(`${summary.created.length} version(s) created, ${summary.unchanged.length} unchanged\n`);
        return 0;
      });
    }
    case 'docs': {
      if (argv[1] !== 'ingest') {
        process.stderr.write('usage: sluice docs ingest <dir|file.jsonl> --collection X [--chunk-tokens N] [--overlap N]\n');
        return 2;
      }
      return withDatabase(env, async (database) => {
        // The configured retrievers decide how a collection is indexed (embeddings for pgvector/hybrid).
        const config = loadConfig(env);
        const providers = createProviders(config, { now: Date.now });
        try {
          const rag = createRag({
            database,
            config: { retrievers: config.retrievers, routes: config.routes },
            embed: providerEmbedder(createModelResolver(config, providers)),
          });
          await rag.start();
          return await docsIngestCommand(argv.slice(2), { store: rag.store, stdout: process.stdout, stderr: process.stderr });
        } finally {
          await closeProviders(providers);
        }
      });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage()}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command '${command}'\n\n${usage()}\n`);
      return 2;
  }
}


