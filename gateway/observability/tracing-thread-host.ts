import { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import type { BufferConfig } from '@opentelemetry/sdk-trace-base';
import { threadEntry } from '../thread-entry.ts';
import type { EndedSpan } from './tracing-calls.ts';
import type { Sdk } from './tracing-spans.ts';
import type { OtlpSettings } from './tracing.ts';

/** The app's side of the export thread (tracing-thread.ts): an Sdk whose work is posted there. */

export interface ThreadData {
  settings: OtlpSettings;
  batch: BufferConfig | undefined;
}
export type ThreadRequest = { type: 'spans'; spans: readonly EndedSpan[]; origin: number } | { type: 'flush' | 'shutdown'; id: number };
export type ThreadReply = { type: 'ready' } | { type: 'done'; id: number; error: string | undefined };

const ENTRY = threadEntry('tracing-thread', import.meta.url);
const READY_MS = 30_000;

export async function startExportThread(settings: OtlpSettings, batch?: BufferConfig): Promise<Sdk> {
  const data: ThreadData = { settings, batch };
  const worker = new Worker(ENTRY, { workerData: data });
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let gone: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the trace export thread was not ready after ${READY_MS} ms`)), READY_MS);
    worker.on('message', (m: ThreadReply) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error === undefined) w?.resolve();
        else w?.reject(new Error(m.error));
      }
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      gone ??= err;
      reject(err);
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    };
    worker.on('error', (err) => {
      diag.error(`tracing: the export thread failed: ${String(err)}`);
      fail(err);
    });
    worker.on('exit', (code) => fail(new Error(`the trace export thread exited (code ${code})`)));
  });
  await ready;
  // Spans waiting in the batch processor do not keep the process up; shutdown() exports them.
  worker.unref();
  const request = (type: 'flush' | 'shutdown'): Promise<void> => {
    if (gone) return Promise.resolve();
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ type, id } satisfies ThreadRequest);
    });
  };
  return {
    make(spans, origin) {
      if (!gone) worker.postMessage({ type: 'spans', spans, origin } satisfies ThreadRequest);
    },
    forceFlush: () => request('flush'),
    async shutdown() {
      if (gone) return;
      try {
        await request('shutdown');
      } finally {
        await worker.terminate();
      }
    },
  };
}
