import { anthropicMessagesFace } from './anthropic/face.ts';
import { embeddingsFace } from './embeddings/face.ts';
import type { Face } from './face.ts';
import { openaiChatFace } from './openai-chat/face.ts';
import { responsesFace, type ResponsesFaceDeps } from './responses/face.ts';

/** Every face the gateway serves, in one list: the inference routes are built from it. */
export function createFaces(deps: { responses: ResponsesFaceDeps }): readonly Face[] {
  return [openaiChatFace, embeddingsFace, anthropicMessagesFace, responsesFace(deps.responses)];
}

/** The face whose path `path` is or lies under (its error shape applies there), if any. */
export function faceForPath(faces: readonly Face[], path: string): Face | undefined {
  return faces.find((f) => path === f.path || path.startsWith(`${f.path}/`));
}
