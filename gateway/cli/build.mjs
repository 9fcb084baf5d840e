#!/usr/bin/env node
// `node gateway/cli/build.mjs [--out DIR] [--force]` (npm run build; also npm's `prepare` and
// `prestart`): compiles the gateway's TypeScript to JavaScript in dist/, beside copies of the
// files it reads at run time (worker entries, dashboard assets, migrations), so `npm start` and
// `sluice` run without tsx. A no-op when dist/ is current (gateway/cli/compiled.mjs). It never
// fails the command it runs before: without TypeScript (`npm install --omit=dev`) or when the
// compiler fails, it says so and the gateway runs from the sources through tsx, as before.
//
// tsc (`tsconfig.build.json`: `rewriteRelativeImportExtensions`, `noCheck`) rather than esbuild:
// it rewrites the `./x.ts` import specifiers to `./x.js`, which esbuild leaves as they are
// outside a bundle, and the tree stays file for file, so `import.meta.url` paths still hold.
// Type checking is `npm run typecheck`'s job; here it would only triple the time.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { builtFrom, DIST, REPO_ROOT, sourceFiles, sourceFingerprint, STAMP } from './compiled.mjs';

const { values } = parseArgs({ options: { out: { type: 'string' }, force: { type: 'boolean' } } });
const out = values.out ? resolve(values.out) : DIST;
const say = (line) => process.stderr.write(`sluice build: ${line}\n`);

const sources = sourceFiles();
const fingerprint = sourceFingerprint(REPO_ROOT, sources);
if (!values.force && builtFrom(out) === fingerprint) process.exit(0);

let tsc;
try {
  tsc = createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  say('TypeScript is not installed (a production install?): the gateway runs from its sources through tsx');
  process.exit(0);
}

const started = Date.now();
const work = `${out}.tmp-${process.pid}`;
rmSync(work, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', work], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  // What tsc does not emit: the plain JavaScript files (worker entries, CLI), assets, migrations.
  for (const f of sources) {
    if (f.endsWith('.ts') || !f.includes('/')) continue;
    const to = join(work, f);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(REPO_ROOT, f), to);
  }
  writeFileSync(join(work, STAMP), `${fingerprint}\n`);
  const old = `${out}.old-${process.pid}`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(work, out);
  rmSync(old, { recursive: true, force: true });
  say(`compiled to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  rmSync(work, { recursive: true, force: true });
  const detail = err && typeof err === 'object' && 'stdout' in err ? `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() : String(err);
  say(`compiling failed; the gateway runs from its sources through tsx\n${detail.slice(0, 4000)}`);
}
