import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { checkName } from './content.ts';
import { PromptError } from './errors.ts';
import { formatOf, formatPromptFile, markdownCanHold, parsePromptFile, type FileFormat, type PromptFile } from './file-format.ts';
import { checkPromptContent } from './render.ts';
import type { PromptContent, PromptSummary } from './types.ts';

/**
 * What push and pull need from a registry: PromptStore satisfies it directly, and so does a
 * client of a running server's /api/prompts (gateway/cli), so the CLI can push through the
 * server that owns an embedded database without a second copy of this logic.
 */
export interface PromptFilesStore {
  /** Throws PromptError `not_found` for an unknown prompt. */
  getPrompt(name: string): Promise<PromptSummary>;
  listPrompts(): Promise<PromptSummary[]>;
  createPrompt(name: string, description: string | null, actor: string): Promise<unknown>;
  /** False when the prompt already had that description. */
  setDescription(name: string, description: string | null, actor: string): Promise<boolean>;
  /** `created: false` when the content equals the latest version, which is returned instead. */
  createVersion(name: string, content: PromptContent, actor: string, message: string | null): Promise<{ created: boolean; version: { version: number } }>;
  getVersion(name: string, version: number): Promise<PromptContent>;
  moveLabel(name: string, label: string, version: number, actor: string): Promise<{ changed: boolean; previous: number | null }>;
}

export interface PushSummary {
  /** Prompts that did not exist and were created. */
  promptsCreated: string[];
  /** New versions, one per prompt whose content changed. */
  created: { name: string; version: number }[];
  /** Prompts whose content equals their latest version (no version written). */
  unchanged: string[];
  labelsMoved: { name: string; label: string; from: number | null; to: number }[];
  descriptionsUpdated: string[];
}

/**
 * Pushes every prompt file in `dir` (see file-format.ts). A version is created only when
 * the content differs from the prompt's latest; each label listed in the file is pointed at
 * the pushed (or current) version; a `description` key, when present, is applied. All files
 * are parsed before anything is written, so one bad file changes nothing.
 */
export async function pushPrompts(dir: string, store: PromptFilesStore, actor: string): Promise<PushSummary> {
  const files = await readPromptFiles(dir);
  const summary: PushSummary = { promptsCreated: [], created: [], unchanged: [], labelsMoved: [], descriptionsUpdated: [] };
  for (const file of files) {
    const existing = await store.getPrompt(file.name).catch((err: unknown) => {
      if (err instanceof PromptError && err.code === 'not_found') return undefined;
      throw err;
    });
    if (!existing) {
      await store.createPrompt(file.name, file.description ?? null, actor);
      summary.promptsCreated.push(file.name);
    } else if (file.description !== undefined && (await store.setDescription(file.name, file.description, actor))) {
      summary.descriptionsUpdated.push(file.name);
    }
    let version = existing?.latestVersion ?? null;
    if (file.content) {
      const result = await store.createVersion(file.name, file.content, actor, file.message ?? null);
      version = result.version.version;
      if (result.created) summary.created.push({ name: file.name, version });
      else summary.unchanged.push(file.name);
    } else {
      summary.unchanged.push(file.name);
    }
    for (const label of file.labels) {
      if (label === 'latest') continue;
      if (version === null) {
        throw new PromptError('invalid_request', `${file.name}: cannot set label '${label}': the prompt has no messages and no versions.`, 'labels');
      }
      const moved = await store.moveLabel(file.name, label, version, actor);
      if (moved.changed) summary.labelsMoved.push({ name: file.name, label, from: moved.previous, to: version });
    }
  }
  return summary;
}

async function readPromptFiles(dir: string): Promise<PromptFile[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && formatOf(e.name));
  const seen = new Map<string, string>();
  const out: PromptFile[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const name = basename(entry.name, extname(entry.name));
    const clash = seen.get(name);
    if (clash) throw new PromptError('invalid_request', `Two files define prompt '${name}': ${clash} and ${entry.name}.`, 'name');
    seen.set(name, entry.name);
    try {
      checkName(name, 'name');
      const text = await readFile(join(dir, entry.name), 'utf8');
      const file = parsePromptFile(name, formatOf(entry.name)!, text);
      for (const label of file.labels) checkName(label, 'labels', 'label');
      if (file.content) checkPromptContent(file.content);
      out.push(file);
    } catch (err) {
      if (err instanceof PromptError) throw new PromptError(err.code, `${entry.name}: ${err.message}`, err.param);
      throw err;
    }
  }
  return out;
}

/**
 * Writes every prompt's latest version, with the labels pointing at it, to `dir`: keeping
 * the format of an existing file for that prompt, else Markdown when it can hold the content
 * exactly, else YAML. Pushing the result back is a no-op.
 */
export async function pullPrompts(dir: string, store: PromptFilesStore): Promise<{ written: string[] }> {
  await mkdir(dir, { recursive: true });
  const present = new Map<string, string>();
  for (const f of await readdir(dir)) if (formatOf(f)) present.set(basename(f, extname(f)), f);
  const written: string[] = [];
  for (const p of await store.listPrompts()) {
    const file: PromptFile = { name: p.name, description: p.description, labels: [] };
    if (p.latestVersion !== null) {
      const v = await store.getVersion(p.name, p.latestVersion);
      const { messages, model, params, variables } = v;
      file.content = { messages, model, params, variables };
      file.labels = Object.entries(p.labels)
        .filter(([, n]) => n === p.latestVersion)
        .map(([l]) => l);
    }
    const existing = present.get(p.name);
    let format: FileFormat = markdownCanHold(file.content) ? 'md' : 'yaml';
    if (existing && (formatOf(existing) === 'yaml' || markdownCanHold(file.content))) format = formatOf(existing)!;
    const fileName = existing && formatOf(existing) === format ? existing : `${p.name}.${format}`;
    await writeFile(join(dir, fileName), formatPromptFile(format, file));
    // The content outgrew Markdown: replace the .md rather than leave two files for one prompt.
    if (existing && existing !== fileName) await unlink(join(dir, existing));
    written.push(fileName);
  }
  return { written };
}
