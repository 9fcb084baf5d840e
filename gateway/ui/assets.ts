import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const here = dirname(fileURLToPath(import.meta.url));
const uplotDist = (): string => dirname(createRequire(import.meta.url).resolve('uplot'));

/**
 * The only files /ui/assets serves: a fixed allow-list (no path from the request reaches the
 * file system), our own files beside this module and uPlot's dist files from node_modules.
 */
const FILES: Record<string, { path: () => string; type: string }> = {
  'app.css': { path: () => join(here, 'assets', 'app.css'), type: 'text/css; charset=utf-8' },
  'app.js': { path: () => join(here, 'assets', 'app.js'), type: 'text/javascript; charset=utf-8' },
  'vendor/uPlot.iife.min.js': { path: () => join(uplotDist(), 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'vendor/uPlot.min.css': { path: () => join(uplotDist(), 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export function assetRoutes(): Hono {
  const app = new Hono();
  const cache = new Map<string, Buffer>();
  app.get('/:file{.+}', async (c) => {
    const name = c.req.param('file');
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) return c.text('Not found', 404);
    let body = cache.get(name);
    if (!body) {
      body = await readFile(file.path());
      cache.set(name, body);
    }
    return c.body(new Uint8Array(body), 200, {
      'content-type': file.type,
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    });
  });
  return app;
}
