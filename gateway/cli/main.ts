import { join } from 'node:path';

import { PromptStore, pullPrompts, pushPrompts } from '../../prompts/index.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { loadConfig } from '../config/load.ts';
import { providerEmbedder } from '../pipeline/embed.ts';
import { closeProviders, createProviders } from '../providers/registry.ts';
import { createRag, docsIngestCommand } from '../rag/index.ts';
import { createModelResolver } from '../routing/resolve-model.ts';
import { runServer, type Env } from '../server.ts';

const USAGE = `usage: sluice <command>

commands:
  serve       run the gateway (same as npm start)
  migrate     apply database migrations (DATABASE_URL, else embedded PGlite in SLUICE_DATA_DIR)
  prompts push <dir>   create versions from prompt files (YAML, or Markdown with front matter)
  prompts pull <dir>   write every prompt's latest version (and its labels) as files
  docs ingest <dir|file.jsonl> --collection X   chunk and load documents for retrieval (RAG)
  help        show this text

environment: PORT, HOST, DATABASE_URL, SLUICE_CONFIG, SLUICE_ADMIN_KEY, SLUICE_DATA_DIR`;

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
      await runServer(env);
      return 0;
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
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}


