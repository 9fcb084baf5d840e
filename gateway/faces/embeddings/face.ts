import { openaiErrorBody } from '../../errors/render.ts';
import { embeddings } from '../../pipeline/embeddings.ts';
import type { Face } from '../face.ts';

/** POST /v1/embeddings: the body passes through to the provider (the embeddings pipeline). */
export const embeddingsFace: Face = {
  endpoint: 'embeddings',
  path: '/v1/embeddings',
  errorBody: openaiErrorBody,
  handle: (input, call, ctx) => embeddings(input, call, ctx.pipeline),
};
