import { parentPort, workerData } from 'node:worker_threads';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { samplerOf, startSdk } from './tracing-spans.ts';
import type { ThreadData, ThreadReply, ThreadRequest } from './tracing-thread-host.ts';

/**
 * The export thread: the OTel SDK, its batch processor and the OTLP exporter, fed the ended
 * spans the app's thread records. Serialising a batch of 512 spans takes this thread, not the
 * event loop that serves requests, ~10 ms. The thread's process.env is the app's, so the
 * exporter and batch processor read OTEL_EXPORTER_OTLP_* and OTEL_BSP_* as usual.
 */
const { settings, batch } = workerData as ThreadData;
const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter({ url: settings.url }) : new OtlpProtoExporter({ url: settings.url });
const sdk = startSdk({ exporter, serviceName: settings.serviceName, batch, sampler: samplerOf(settings.sampler) });
const port = parentPort!;
const reply = (m: ThreadReply): void => port.postMessage(m);

port.on('message', (m: ThreadRequest) => {
  switch (m.type) {
    case 'spans':
      sdk.make(m.spans, m.origin);
      return;
    case 'flush':
    case 'shutdown':
      (m.type === 'flush' ? sdk.forceFlush() : sdk.shutdown()).then(
        () => reply({ type: 'done', id: m.id, error: undefined }),
        (err: unknown) => reply({ type: 'done', id: m.id, error: String(err) }),
      );
      return;
  }
});
reply({ type: 'ready' });
