import { PromptStore, pullPrompts, pushPrompts, type PromptFilesStore } from '../../prompts/index.ts';
import type { SluiceEnv } from '../config/env.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { serverPromptStore } from './prompt-client.ts';

export const PROMPTS_USAGE = 'usage: sluice prompts push|pull <dir>';

/** `sluice prompts push|pull <dir>`; `argv` follows `prompts`. Returns the exit code. */
export async function promptsCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  const [action, dir, ...extra] = argv;
  if ((action !== 'push' && action !== 'pull') || !dir || extra.length > 0) {
    io.err(`${PROMPTS_USAGE}\n`);
    return 2;
  }
  const run = async (store: PromptFilesStore): Promise<number> => {
    if (action === 'pull') {
      const { written } = await pullPrompts(dir, store);
      io.out(`wrote ${written.length} prompt file(s) to ${dir}\n`);
      return 0;
    }
    const summary = await pushPrompts(dir, store, env.USER ? `cli:${env.USER}` : 'cli');
    for (const c of summary.created) io.out(`created ${c.name}@${c.version}\n`);
    for (const m of summary.labelsMoved) io.out(`moved ${m.name}@${m.label}: ${m.from ?? '-'} -> ${m.to}\n`);
    io.out(`${summary.created.length} version(s) created, ${summary.unchanged.length} unchanged\n`);
    return 0;
  };
  const access = await dataAccess(env, `prompts ${action}`);
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return run(serverPromptStore(access.server));
  }
  return access.withDatabase((database) => run(new PromptStore(database)));
}
