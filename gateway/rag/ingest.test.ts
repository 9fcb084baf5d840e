import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkText, countTokens } from './chunk.ts';
import { docsIngestCommand, formatProgress } from './cli.ts';
import type { DocumentInput } from './documents-store.ts';
import { ingestPath, IngestError, type IngestProgress } from './ingest.ts';

/** Numbered words make overlap and order easy to check. */
const words = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `w${from + i}`).join(' ');

function memoryStore() {
  const docs = new Map<string, DocumentInput>();
  const batches: number[] = [];
  return {
    docs,
    batches,
    async upsert(input: readonly DocumentInput[]) {
      batches.push(input.length);
      for (const d of input) docs.set(d.id, d);
      return { upserted: input.length, embedded: 0 };
    },
  };
}

describe('chunkText', () => {
  it('returns a text that fits as one chunk, trimmed', () => {
    expect(chunkText('  short text \n', { chunkTokens: 50, overlapTokens: 10 })).toEqual(['short text']);
    expect(chunkText('   ', { chunkTokens: 50, overlapTokens: 10 })).toEqual([]);
  });

  it('splits by tokens with overlap, at word boundaries, covering the whole text', () => {
    const text = words(0, 600);
    const chunks = chunkText(text, { chunkTokens: 100, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(countTokens(c)).toBeLessThanOrEqual(100);
      // Whole words only: every piece is w<number>.
      expect(c.split(' ').every((w) => /^w\d+$/.test(w))).toBe(true);
    }
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!.split(' ');
      const next = chunks[i]!.split(' ');
      const first = next[0]!;
      // The next chunk starts inside the previous one: they share a run of words.
      expect(prev).toContain(first);
      const shared = prev.length - prev.indexOf(first);
      expect(next.slice(0, shared)).toEqual(prev.slice(prev.indexOf(first)));
      expect(countTokens(next.slice(0, shared).join(' '))).toBeGreaterThanOrEqual(15);
    }
    expect(chunks[0]!.startsWith('w0 ')).toBe(true);
    expect(chunks.at(-1)!.endsWith('w599')).toBe(true);
    const seen = new Set(chunks.flatMap((c) => c.split(' ')));
    expect(seen.size).toBe(600);
  });

  it('with no overlap, chunks partition the text', () => {
    const chunks = chunkText(words(0, 300), { chunkTokens: 64, overlapTokens: 0 });
    expect(chunks.join(' ')).toBe(words(0, 300));
  });

  it('never splits a multi-byte character', () => {
    const text = '日本語のテキスト、絵文字 🎉🎉 も含む。'.repeat(40);
    for (const c of chunkText(text, { chunkTokens: 32, overlapTokens: 8 })) expect(c).not.toContain('\uFFFD');
  });

  it('rejects an overlap over half a chunk', () => {
    expect(() => chunkText('x', { chunkTokens: 100, overlapTokens: 60 })).toThrow(RangeError);
  });
});

describe('ingestPath', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-ingest-'));
    mkdirSync(join(dir, 'guides'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'guides', 'long.md'), words(0, 1000));
    writeFileSync(join(dir, 'a.txt'), 'A short note about refunds.');
    writeFileSync(join(dir, 'faq.jsonl'), [
      JSON.stringify({ id: 'q1', text: 'How to reset a password', metadata: { lang: 'en' } }),
      '',
      JSON.stringify({ text: 'No id here' }),
      JSON.stringify({ id: 42, text: words(0, 500) }),
    ].join('\n'));
    writeFileSync(join(dir, 'image.png'), 'not text');
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ingests .txt, .md and .jsonl files with stable ids, metadata and progress', async () => {
    const store = memoryStore();
    const progress: IngestProgress[] = [];
    const summary = await ingestPath(dir, { collection: 'kb', store, chunkTokens: 200, overlapTokens: 20, batchSize: 3, onProgress: (p) => progress.push(p) });
    const ids = [...store.docs.keys()];
    expect(ids.filter((id) => id.startsWith('guides/long.md#'))).toEqual(expect.arrayContaining(['guides/long.md#0', 'guides/long.md#1', 'guides/long.md#5']));
    expect(ids).toEqual(expect.arrayContaining(['a.txt#0', 'q1', 'faq.jsonl#2', '42#0', '42#1']));
    expect(ids.some((id) => id.includes('png') || id.includes('HEAD'))).toBe(false);
    expect(store.docs.get('q1')).toEqual({ collection: 'kb', id: 'q1', text: 'How to reset a password', metadata: { lang: 'en', source: 'faq.jsonl' } });
    expect(store.docs.get('guides/long.md#1')?.metadata).toEqual({ source: 'guides/long.md', chunk: 1 });
    expect(store.docs.get('42#1')?.metadata).toEqual({ source: 'faq.jsonl', chunk: 1 });
    expect(summary).toEqual({ files: 3, documents: store.docs.size, embedded: 0 });
    expect(Math.max(...store.batches)).toBeLessThanOrEqual(3);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ filesDone: 3, filesTotal: 3, documents: store.docs.size });
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(progress.map((p) => p.bytesDone)).toEqual([...progress.map((p) => p.bytesDone)].sort((a, b) => a - b));
  });

  it('ingests one jsonl file with a custom text field', async () => {
    const file = join(dir, 'halu.jsonl');
    writeFileSync(file, `${JSON.stringify({ knowledge: 'passage zero' })}\n${JSON.stringify({ knowledge: 'passage one' })}\n`);
    const store = memoryStore();
    await ingestPath(file, { collection: 'h', store, textField: 'knowledge' });
    expect([...store.docs.values()].map((d) => [d.id, d.text])).toEqual([
      ['halu.jsonl#0', 'passage zero'],
      ['halu.jsonl#1', 'passage one'],
    ]);
    rmSync(file);
  });

  it('stops at a malformed jsonl line, naming file and line', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ text: 'ok' })}\n{"text": 3}\n`);
    await expect(ingestPath(file, { collection: 'kb', store: memoryStore() })).rejects.toThrow(new IngestError("bad.jsonl:2: 'text' must be a non-empty string"));
    writeFileSync(file, '{nope\n');
    await expect(ingestPath(file, { collection: 'kb', store: memoryStore() })).rejects.toThrow(/^bad\.jsonl:1: not valid JSON/);
    rmSync(file);
    await expect(ingestPath(join(dir, 'missing'), { collection: 'kb', store: memoryStore() })).rejects.toThrow('no such file or directory');
  });
});

describe('docsIngestCommand', () => {
  const out = () => {
    let text = '';
    return { write: (s: string) => (text += s), get text() { return text; } };
  };

  it('ingests and prints progress lines and a summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    writeFileSync(join(dir, 'a.md'), words(0, 2000));
    const store = memoryStore();
    const stdout = out();
    const code = await docsIngestCommand([dir, '--collection', 'kb', '--chunk-tokens', '100', '--overlap-tokens', '10'], { store, stdout });
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/\[#{30}\] 100%\s+1\/1 files\s+\d+ docs/);
    expect(stdout.text).toMatch(new RegExp(`ingested ${store.docs.size} document\\(s\\) from 1 file\\(s\\) into 'kb' in \\d+\\.\\ds\\n$`));
  });

  it.each([
    [[], 'give exactly one path'],
    [['dir'], '--collection is required'],
    [['dir', '--collection', 'bad name'], '--collection must match'],
    [['dir', '--collection', 'kb', '--chunk-tokens', 'abc'], '--chunk-tokens must be an integer'],
    [['dir', '--collection', 'kb', '--chunk-tokens', '100', '--overlap-tokens', '80'], '--overlap-tokens must be'],
    [['dir', '--colection', 'kb'], "Unknown option '--colection'"],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const stdout = out();
    expect(await docsIngestCommand(argv, { store: memoryStore(), stdout })).toBe(2);
    expect(stdout.text).toContain(message);
    expect(stdout.text).toContain('usage: sluice docs ingest');
  });

  it('a missing path exits 1 with the reason', async () => {
    const stdout = out();
    expect(await docsIngestCommand(['/no/such/dir', '-c', 'kb'], { store: memoryStore(), stdout })).toBe(1);
    expect(stdout.text).toContain('/no/such/dir: no such file or directory');
  });

  it('formats a progress bar', () => {
    expect(formatProgress({ filesDone: 1, filesTotal: 4, bytesDone: 50, bytesTotal: 100, documents: 12, file: 'a.md' })).toBe(
      `[${'#'.repeat(15)}${'-'.repeat(15)}]  50%  1/4 files  12 docs  a.md`,
    );
  });
});
