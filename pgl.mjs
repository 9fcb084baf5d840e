import { PGlite } from '@electric-sql/pglite';
const r0 = process.memoryUsage().rss;
const db = new PGlite('/tmp/sl5/pgdata'); await db.waitReady;
console.log('pglite rss MB', (process.memoryUsage().rss - r0)/1e6, 'total', process.memoryUsage().rss/1e6);
const m = await import('js-tiktoken/ranks/o200k_base');
console.log('after o200k', process.memoryUsage().rss/1e6);
