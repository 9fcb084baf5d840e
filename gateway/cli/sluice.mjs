#!/usr/bin/env node
// The `sluice` command (package.json bin). Sources are TypeScript run through tsx, so
// `npx sluice` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2), process.env);
