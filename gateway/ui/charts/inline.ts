import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The chart code as text, for a page that must work with no server behind it (the eval HTML
 * report): uPlot's CSS and JS from node_modules/uplot/dist and the dashboard's own drawer
 * (gateway/ui/assets/app.js), the very files /ui/assets serves.
 */
export interface InlineChartCode {
  css: string;
  /** Scripts in load order: uPlot, then the drawer. */
  scripts: string[];
}

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');
const uplotDist = (): string => dirname(createRequire(import.meta.url).resolve('uplot'));

let cached: InlineChartCode | undefined;

export function inlineChartCode(): InlineChartCode {
  cached ??= {
    css: readFileSync(join(uplotDist(), 'uPlot.min.css'), 'utf8'),
    scripts: [readFileSync(join(uplotDist(), 'uPlot.iife.min.js'), 'utf8'), readFileSync(join(assets, 'app.js'), 'utf8')].map(scriptSafe),
  };
  return cached;
}

/**
 * Text safe inside `<script>…</script>`: an HTML parser ends the element at the first
 * `</script` (and `<!--` can change how it scans). Both only occur in strings or regexes in
 * these files, where `<\/` and `\x3c!--` mean the same.
 */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '\\x3c!--');
}
