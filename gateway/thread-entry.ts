/**
 * The entry file of the worker thread `name` that lives beside the module at `from` (its
 * `import.meta.url`). Compiled (dist/, gateway/cli/build.mjs) the module is a `.js` file and the
 * thread runs its compiled `name.js` directly. From the sources it is `.ts`, and the thread
 * starts at the `name.mjs` shim, which registers tsx first: a worker does not inherit the
 * loader its parent registered through tsx's API.
 */
export function threadEntry(name: string, from: string): URL {
  return new URL(from.endsWith('.js') ? `./${name}.js` : `./${name}.mjs`, from);
}

/** True when this process runs the compiled gateway (dist/), not its TypeScript through tsx. */
export const RUNS_COMPILED = import.meta.url.endsWith('.js');
