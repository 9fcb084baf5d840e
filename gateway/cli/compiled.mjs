// Whether the compiled gateway in dist/ (gateway/cli/build.mjs) is current with the sources.
// Plain JavaScript: it decides, before any TypeScript loads, whether tsx is needed at all.
//
// Running compiled JavaScript instead of TypeScript through tsx saves each process tsx's loader
// thread and its transform caches (~50 MB of RSS in the gateway, as much again in each worker
// thread that loads TypeScript: the embedded PGlite's, the trace exporter's) and start-up time.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = join(REPO_ROOT, 'dist');
/** What the build compiles or copies; a change to any of these makes dist/ stale. */
export const SOURCE_DIRS = ['core', 'gateway', 'prompts', 'evals', 'migrations'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
export const STAMP = '.sources';
const TEST_FILE = /\.test\.[cm]?[jt]s$/;

/** Every source file the build reads (tests excluded), relative to `root`, sorted. */
export function sourceFiles(root = REPO_ROOT) {
  const files = [];
  for (const dir of SOURCE_DIRS) {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { recursive: true, withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile() || TEST_FILE.test(e.name)) continue;
      files.push(relative(root, join(e.parentPath ?? e.path, e.name)));
    }
  }
  for (const f of SOURCE_FILES) files.push(f);
  return files.sort();
}

/**
 * A fingerprint of the sources as they are on disk: path, size and modification time of each
 * (a checkout or an edit changes the time; a new or deleted file changes the list). ~700 stats.
 */
export function sourceFingerprint(root = REPO_ROOT, files = sourceFiles(root)) {
  const hash = createHash('sha256');
  for (const f of files) {
    let st;
    try {
      st = statSync(join(root, f));
    } catch {
      continue;
    }
    hash.update(`${f}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** The fingerprint a build in `dist` was made from, or undefined when there is none. */
export function builtFrom(dist = DIST) {
  try {
    return readFileSync(join(dist, STAMP), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The compiled file `rel` (a path under the repository with `.js` for `.ts`, e.g.
 * `gateway/cli/main.js`) when dist/ holds a build of exactly the sources on disk; otherwise
 * undefined, and the caller runs the TypeScript through tsx. `SLUICE_FROM_SOURCE=1` forces that.
 */
export function compiledFile(rel, env = process.env, root = REPO_ROOT) {
  if (env.SLUICE_FROM_SOURCE === '1') return undefined;
  const dist = join(root, 'dist');
  const stamp = builtFrom(dist);
  if (!stamp || stamp !== sourceFingerprint(root)) return undefined;
  return join(dist, rel);
}
