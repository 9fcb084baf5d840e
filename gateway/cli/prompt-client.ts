import { PromptError, type PromptContent, type PromptFilesStore, type PromptSummary } from '../../prompts/index.ts';
import { ServerRequestError, type ServerClient } from './server-client.ts';

/** `GET /api/prompts/{name}` (prompts/views.ts promptView). */
interface PromptJson {
  name: string;
  description: string | null;
  latest_version: number | null;
  labels: Record<string, number>;
  created_at: string;
}

const summary = (p: PromptJson): PromptSummary => ({
  name: p.name,
  description: p.description,
  createdAt: new Date(p.created_at),
  latestVersion: p.latest_version,
  labels: p.labels,
});

/**
 * The registry of a running server (DESIGN §4.2) as a PromptFilesStore, so `prompts push` and
 * `pull` run the same code through the server as on a database. The actor in the audit log is
 * the key the server saw (the local admin token), not the CLI's user.
 */
export function serverPromptStore(server: ServerClient): PromptFilesStore {
  const at = (name: string, rest = '') => `/api/prompts/${encodeURIComponent(name)}${rest}`;
  const getPrompt = async (name: string): Promise<PromptSummary> => {
    try {
      return summary(await server.request<PromptJson>('GET', at(name)));
    } catch (err) {
      // pushPrompts creates a prompt it does not find: it needs the registry's own error.
      if (err instanceof ServerRequestError && err.status === 404) throw new PromptError('not_found', err.message, 'name');
      throw err;
    }
  };
  return {
    getPrompt,
    listPrompts: async () => (await server.request<{ data: PromptJson[] }>('GET', '/api/prompts')).data.map(summary),
    createPrompt: (name, description) => server.request('POST', '/api/prompts', { name, description }),
    async setDescription(name, description) {
      if ((await getPrompt(name)).description === description) return false;
      await server.request('PATCH', at(name), { description });
      return true;
    },
    async createVersion(name, content, _actor, message) {
      const res = await server.send('POST', at(name, '/versions'), { ...content, message });
      const body = res.body as { version: number };
      return { created: res.status === 201, version: { version: body.version } };
    },
    async getVersion(name, version): Promise<PromptContent> {
      const v = await server.request<PromptContent>('GET', at(name, `/versions/${version}`));
      return { messages: v.messages, model: v.model, params: v.params, variables: v.variables };
    },
    async moveLabel(name, label, version) {
      const moved = await server.request<{ version: number; previous_version: number | null }>('PUT', at(name, `/labels/${encodeURIComponent(label)}`), { version });
      return { changed: moved.previous_version !== moved.version, previous: moved.previous_version };
    },
  };
}
