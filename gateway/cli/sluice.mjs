#!/usr/bin/env node
// The `sluice` command (package.json bin). It runs the compiled gateway in dist/ when that is
// a build of exactly the sources on disk (gateway/cli/build.mjs, run by `npm install` and
// `npm start`), and otherwise the TypeScript sources through tsx, so `npx sluice` never needs a
// build step and never runs stale code.
import { compiledFile } from './compiled.mjs';

const compiled = compiledFile('gateway/cli/main.js');
let main;
if (compiled) {
  main = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  main = await import('./main.ts');
}
process.exitCode = await main.run(process.argv.slice(2), process.env);
