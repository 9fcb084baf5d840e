import type { Hono } from 'hono';
import type { UiEnv } from '../env.ts';
import { callPage } from './call.ts';
import { callsPage } from './calls.ts';
import { evalRunPage, evalsPage } from './evals.ts';
import { incidentAction, incidentsPage } from './incidents.ts';
import { keysPage } from './keys.ts';
import { overviewPage } from './overview.ts';
import { abortPromptRollout, moveLabel, promptPage, promptsPage } from './prompts.ts';
import { abortRouteRollout, routePage, routesPage } from './routes.ts';

/** Every view at its own URL under /ui (DESIGN §4.7); POSTs redirect back to their view. */
export function registerViews(app: Hono<UiEnv>): void {
  app.get('/', async (c) => c.html((await overviewPage(c)).value));
  app.get('/calls', async (c) => c.html((await callsPage(c)).value));
  app.get('/calls/:id', async (c) => c.html((await callPage(c)).value));
  app.get('/incidents', async (c) => c.html((await incidentsPage(c)).value));
  app.post('/incidents/:id/ack', (c) => incidentAction(c, 'ack'));
  app.post('/incidents/:id/resolve', (c) => incidentAction(c, 'resolve'));
  app.get('/routes', async (c) => c.html((await routesPage(c)).value));
  app.get('/routes/:name', async (c) => c.html((await routePage(c)).value));
  app.post('/routes/:name/rollout/abort', (c) => abortRouteRollout(c));
  app.get('/prompts', async (c) => c.html((await promptsPage(c)).value));
  app.get('/prompts/:name', async (c) => c.html((await promptPage(c)).value));
  app.post('/prompts/:name/labels', (c) => moveLabel(c));
  app.post('/prompts/:name/labels/:label/rollout/abort', (c) => abortPromptRollout(c));
  app.get('/evals', async (c) => c.html((await evalsPage(c)).value));
  app.get('/evals/:id', async (c) => c.html((await evalRunPage(c)).value));
  app.get('/keys', async (c) => c.html((await keysPage(c)).value));
}
