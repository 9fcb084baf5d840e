import { parseArgs } from 'node:util';
import type { DocumentStore } from './documents-store.ts';
import { IngestError, ingestPath, type IngestProgress } from './ingest.ts';

export interface CliOutput {
  write(text: string): unknown;
  /** Progress redraws in place on a terminal; elsewhere it prints a line per 10%. */
  isTTY?: boolean | undefined;
}

export const DOCS_INGEST_USAGE = `usage: sluice docs ingest <dir | file.jsonl | file.md | file.txt> --collection <name>
       [--chunk-tokens 400] [--overlap-tokens 50] [--text-field text] [--id-field id]`;

const COLLECTION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const BAR = 30;

export interface DocsIngestArgs {
  path: string;
  collection: string;
  chunkTokens: number;
  overlapTokens: number;
  textField?: string;
  idField?: string;
}

/** The arguments of `docs ingest`, or what is wrong with them (usage: exit 2). */
export function parseDocsIngestArgs(argv: readonly string[]): DocsIngestArgs | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        collection: { type: 'string', short: 'c' },
        'chunk-tokens': { type: 'string' },
        'overlap-tokens': { type: 'string' },
        'text-field': { type: 'string' },
        'id-field': { type: 'string' },
      },
    });
  } catch (err) {
    return (err as Error).message;
  }
  const { values, positionals } = parsed;
  const problem =
    positionals.length !== 1
      ? 'give exactly one path'
      : values.collection === undefined
        ? '--collection is required'
        : !COLLECTION.test(values.collection)
          ? '--collection must match [A-Za-z0-9][A-Za-z0-9._-]*'
          : null;
  const chunkTokens = intOption(values['chunk-tokens'], 400);
  const overlapTokens = intOption(values['overlap-tokens'], 50);
  const bad =
    problem ??
    (chunkTokens === null || chunkTokens < 8
      ? '--chunk-tokens must be an integer ≥ 8'
      : overlapTokens === null || overlapTokens > chunkTokens / 2
        ? '--overlap-tokens must be an integer between 0 and half of --chunk-tokens'
        : null);
  if (bad !== null) return bad;
  return {
    path: positionals[0]!,
    collection: values.collection!,
    chunkTokens: chunkTokens!,
    overlapTokens: overlapTokens!,
    ...(values['text-field'] !== undefined ? { textField: values['text-field'] } : {}),
    ...(values['id-field'] !== undefined ? { idField: values['id-field'] } : {}),
  };
}

/**
 * `npx sluice docs ingest …`: `argv` is what follows `docs ingest`. The store should come from
 * `createRag(...).store` (or a running server's /api/documents, which uses that store), so
 * collections read by pgvector/hybrid retrievers get embeddings.
 * Returns the exit code: 0 done, 1 failed, 2 bad usage.
 */
export async function docsIngestCommand(argv: readonly string[], ctx: { store: Pick<DocumentStore, 'upsert'>; stdout: CliOutput; stderr?: CliOutput }): Promise<number> {
  const stderr = ctx.stderr ?? ctx.stdout;
  const args = parseDocsIngestArgs(argv);
  if (typeof args === 'string') {
    stderr.write(`sluice docs ingest: ${args}\n${DOCS_INGEST_USAGE}\n`);
    return 2;
  }
  const { path, textField, idField, ...rest } = args;
  const started = performance.now();
  const bar = progressBar(ctx.stdout);
  try {
    const summary = await ingestPath(path, {
      ...rest,
      store: ctx.store,
      ...(textField !== undefined ? { textField } : {}),
      ...(idField !== undefined ? { idField } : {}),
      onProgress: bar,
    });
    if (ctx.stdout.isTTY) ctx.stdout.write('\n');
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    ctx.stdout.write(
      `ingested ${summary.documents} document(s) from ${summary.files} file(s) into '${args.collection}'` +
        `${summary.embedded > 0 ? `, ${summary.embedded} embedded` : ''} in ${secs}s\n`,
    );
    return 0;
  } catch (err) {
    if (ctx.stdout.isTTY) ctx.stdout.write('\n');
    stderr.write(`sluice docs ingest: ${err instanceof IngestError || err instanceof RangeError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function intOption(value: string | undefined, fallback: number): number | null {
  if (value === undefined) return fallback;
  return /^\d+$/.test(value) ? Number(value) : null;
}

/** `[#########---------------------]  30%  3/10 files  120 docs  notes/a.md` */
export function formatProgress(p: IngestProgress): string {
  const ratio = p.bytesTotal === 0 ? 1 : Math.min(1, p.bytesDone / p.bytesTotal);
  const filled = Math.round(ratio * BAR);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${pct}  ${p.filesDone}/${p.filesTotal} files  ${p.documents} docs  ${p.file}`;
}

function progressBar(out: CliOutput): (p: IngestProgress) => void {
  let lastDecile = -1;
  let done = false;
  return (p) => {
    if (out.isTTY) {
      out.write(`\r${formatProgress(p).slice(0, 120).padEnd(120)}`);
      return;
    }
    // Not a terminal (CI logs): a line per 10% and one when the last file is done.
    const decile = p.bytesTotal === 0 ? 10 : Math.floor((p.bytesDone / p.bytesTotal) * 10);
    const finished = p.filesDone === p.filesTotal;
    if (decile > lastDecile || (finished && !done)) {
      lastDecile = decile;
      done = finished;
      out.write(`${formatProgress(p)}\n`);
    }
  };
}
