import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { chunkText } from './chunk.ts';
import type { DocumentInput, DocumentStore } from './documents-store.ts';

export interface IngestProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Documents (chunks) upserted so far. */
  documents: number;
  /** The file being read, relative to the ingested path. */
  file: string;
}

export interface IngestOptions {
  collection: string;
  store: Pick<DocumentStore, 'upsert'>;
  chunkTokens?: number;
  overlapTokens?: number;
  /** JSONL: the field holding the text (default `text`) and the id (default `id`). */
  textField?: string;
  idField?: string;
  /** Documents per upsert (and embeddings) batch. */
  batchSize?: number;
  onProgress?: (p: IngestProgress) => void;
  signal?: AbortSignal;
}

export interface IngestSummary {
  files: number;
  documents: number;
  embedded: number;
}

/** A file that cannot be ingested; the message names the file (and line). */
export class IngestError extends Error {
  override readonly name = 'IngestError';
}

const TEXT_EXTENSIONS = new Set(['.txt', '.md', '.markdown']);
const EXTENSIONS = new Set([...TEXT_EXTENSIONS, '.jsonl']);

/**
 * Ingests a file or a directory (recursively; .txt, .md, .jsonl; hidden entries and
 * node_modules skipped; files in sorted order) into one collection.
 * - .txt / .md: the whole file, chunked by tokens with overlap; ids `<file>#<n>` (n from 0),
 *   `<file>` relative to the directory (or the file's name), metadata `{source, chunk}`.
 * - .jsonl: one document a line, `{id?, text, metadata?}`; id defaults to `<file>#<line>` (line
 *   from 0); a text longer than a chunk is split into `<id>#<n>`. A malformed line stops the
 *   ingest with an IngestError naming `file:line` (nothing is skipped silently).
 * Re-ingesting is idempotent (upsert by id; unchanged texts keep their embeddings).
 */
export async function ingestPath(path: string, opts: IngestOptions): Promise<IngestSummary> {
  const chunk = { chunkTokens: opts.chunkTokens ?? 400, overlapTokens: opts.overlapTokens ?? 50 };
  const batchSize = opts.batchSize ?? 100;
  const files = await listFiles(path);
  const sizes = await Promise.all(files.map(async (f) => (await stat(f.abs)).size));
  const progress: IngestProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: sizes.reduce((a, b) => a + b, 0),
    documents: 0,
    file: '',
  };
  let embedded = 0;
  for (const [i, file] of files.entries()) {
    opts.signal?.throwIfAborted();
    progress.file = file.rel;
    const text = await readFile(file.abs, 'utf8');
    const docs = extname(file.abs).toLowerCase() === '.jsonl' ? jsonlDocuments(file.rel, text, opts, chunk) : textDocuments(file.rel, text, opts.collection, chunk);
    const before = progress.bytesDone;
    for (let j = 0; j < docs.length; j += batchSize) {
      const batch = docs.slice(j, j + batchSize);
      embedded += (await opts.store.upsert(batch, opts.signal)).embedded;
      progress.documents += batch.length;
      progress.bytesDone = before + Math.round((sizes[i]! * (j + batch.length)) / docs.length);
      opts.onProgress?.({ ...progress });
    }
    progress.filesDone = i + 1;
    progress.bytesDone = before + sizes[i]!;
    opts.onProgress?.({ ...progress });
  }
  return { files: files.length, documents: progress.documents, embedded };
}

function textDocuments(file: string, text: string, collection: string, chunk: { chunkTokens: number; overlapTokens: number }): DocumentInput[] {
  return chunkText(text, chunk).map((piece, n) => ({ collection, id: `${file}#${n}`, text: piece, metadata: { source: file, chunk: n } }));
}

function jsonlDocuments(file: string, text: string, opts: IngestOptions, chunk: { chunkTokens: number; overlapTokens: number }): DocumentInput[] {
  const textField = opts.textField ?? 'text';
  const idField = opts.idField ?? 'id';
  const out: DocumentInput[] = [];
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    const where = `${file}:${n + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new IngestError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new IngestError(`${where}: each line must be a JSON object`);
    const r = row as Record<string, unknown>;
    const body = r[textField];
    if (typeof body !== 'string' || body.trim() === '') throw new IngestError(`${where}: '${textField}' must be a non-empty string`);
    const rawId = r[idField];
    if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number') throw new IngestError(`${where}: '${idField}' must be a string or number`);
    const meta = r.metadata;
    if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) throw new IngestError(`${where}: 'metadata' must be an object`);
    const id = rawId === undefined ? `${file}#${n}` : String(rawId);
    const pieces = chunkText(body, chunk);
    const metadata = { ...(meta as Record<string, unknown> | undefined), source: file };
    if (pieces.length === 1) out.push({ collection: opts.collection, id, text: pieces[0]!, metadata });
    else pieces.forEach((piece, k) => out.push({ collection: opts.collection, id: `${id}#${k}`, text: piece, metadata: { ...metadata, chunk: k } }));
  });
  return out;
}

async function listFiles(path: string): Promise<{ abs: string; rel: string }[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new IngestError(`${path}: no such file or directory`);
  if (info.isFile()) {
    if (!EXTENSIONS.has(extname(path).toLowerCase())) throw new IngestError(`${path}: only .txt, .md and .jsonl files can be ingested`);
    return [{ abs: path, rel: basename(path) }];
  }
  const out: { abs: string; rel: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile() && EXTENSIONS.has(extname(e.name).toLowerCase())) out.push({ abs, rel: relative(path, abs).split(sep).join('/') });
    }
  };
  await walk(path);
  return out;
}
