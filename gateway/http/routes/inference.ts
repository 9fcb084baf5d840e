import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { KeyStore } from '../../auth/key-store.ts';
import type { TrackerDeps } from '../../calls/tracker.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { countTokensResponse } from '../../faces/anthropic/count-tokens.ts';
import { createFaces, faceForPath } from '../../faces/registry.ts';
import { getResponse } from '../../faces/responses/face.ts';
import type { ResponsesStore } from '../../faces/responses/store.ts';
import type { PipelineDeps } from '../../pipeline/deps.ts';
import type { ModelCatalog } from '../../pipeline/models.ts';
import type { AppEnv } from '../env.ts';
import { requireKey } from '../middleware/auth.ts';
import { trackCall } from '../middleware/call-tracking.ts';
import { readJsonObject } from '../read-json.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface InferenceRouteDeps {
  keys: KeyStore;
  pipeline: PipelineDeps;
  tracker: TrackerDeps;
  models: ModelCatalog;
  responses: ResponsesStore;
  bodyLimitBytes: number;
}

/**
 * The body limit. With a Content-Length (what SDKs send) it is one header check; Hono's
 * bodyLimit would wrap the body in a web stream, which makes @hono/node-server build a whole
 * web Request per call. Chunked bodies still go through Hono's counting limit.
 */
function bodyLimitFast(maxSize: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new GatewayError('body_too_large', `The request body exceeds the limit of ${maxSize} bytes.`);
  const chunked = bodyLimit({
    maxSize,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function limit(c, next) {
    const length = c.req.header('content-length');
    if (length === undefined) return chunked(c, next);
    if (Number(length) > maxSize) throw tooLarge();
    await next();
  };
}

/**
 * The inference faces (faces/registry.ts), each behind the same wrapper: the call record
 * opens on arrival, then the key, the body limit, the JSON body and the face's handler. Every
 * request under a face's path gets that face's error shape (error-handler.ts reads `face`).
 */
export function inferenceRoutes(deps: InferenceRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireKey({ keys: deps.keys, scope: 'inference' });
  const limit = bodyLimitFast(deps.bodyLimitBytes);
  const faces = createFaces({ responses: { store: deps.responses, logger: deps.pipeline.logger, clock: deps.pipeline.clock } });

  app.use('/v1/*', async function faceOf(c, next) {
    c.set('face', faceForPath(faces, c.req.path));
    await next();
  });
  for (const face of faces) {
    app.post(face.path, trackCall(face.endpoint, deps.tracker), auth, limit, async (c) => {
      const body = await readJsonObject(c);
      const input = { body, header: (name: string) => c.req.header(name), signal: c.req.raw.signal };
      return face.handle(input, c.get('call')!, { key: c.get('key'), pipeline: deps.pipeline });
    });
  }
  app.post('/v1/messages/count_tokens', auth, limit, async (c) => countTokensResponse(await readJsonObject(c)));
  // Stored responses belong to the key that created them (admin-scope keys see all).
  app.get('/v1/responses/:id', auth, async (c) => c.json(await getResponse(c.req.param('id'), deps.responses, c.get('key'))));

  // A key sees only the models and routes its allow-lists (and its team's) let it call.
  app.get('/v1/models', auth, async (c) => {
    const list = await deps.models.list();
    const key = c.get('key');
    return c.json(deps.pipeline.governor ? { ...list, data: list.data.filter((m) => deps.pipeline.governor!.modelVisible(key, m.id)) } : list);
  });
  // Model ids contain a slash (provider/model), so the parameter takes the rest of the path.
  // c.req.param() has already percent-decoded it (leaving a malformed escape as is); decoding
  // again would turn `%ZZ` into a URIError (a 500) and `%2525` into `%`.
  app.get('/v1/models/:id{.+}', auth, async (c) => {
    const id = c.req.param('id');
    if (deps.pipeline.governor && !deps.pipeline.governor.modelVisible(c.get('key'), id)) {
      throw new GatewayError('model_not_found', `The model '${id.slice(0, 200)}' does not exist or this key may not call it.`, { param: 'model' });
    }
    return c.json(await deps.models.get(id));
  });

  methodNotAllowed(app, [...faces.map((f) => f.path), '/v1/messages/count_tokens'], 'POST');
  methodNotAllowed(app, ['/v1/responses/*'], 'GET');
  methodNotAllowed(app, ['/v1/models', '/v1/models/*'], 'GET');
  return app;
}
