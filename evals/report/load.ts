import { and, desc, eq, lte, sql } from 'drizzle-orm';
import type { Database } from '../../gateway/db/client.ts';
import { DatasetError } from '../datasets/jsonl.ts';
import { loadDataset } from '../datasets/store.ts';
import { runScores } from '../run/store.ts';
import { evalRuns, type EvalRunRow } from '../schema.ts';
import type { HtmlReportInput } from './html.ts';

/** How many earlier runs of the job the "scores over time" charts reach back. */
const HISTORY = 200;

/**
 * Everything `renderHtmlReport` shows for a stored run: the job's latest succeeded runs up to this one, this
 * run's scores and its dataset's items (when the dataset version is still stored).
 */
export async function loadReportInput(database: Pick<Database, 'db'>, run: EvalRunRow): Promise<HtmlReportInput> {
  // Compared with the stored timestamp, not run.createdAt: Postgres keeps microseconds, a Date
  // only milliseconds, so `<= run.createdAt` could leave out the run itself.
  const upToThisRun = sql`(select r.created_at from eval_runs r where r.id = ${run.id})`;
  const history = await database.db
    .select()
    .from(evalRuns)
    .where(and(eq(evalRuns.name, run.name), eq(evalRuns.status, 'succeeded'), lte(evalRuns.createdAt, upToThisRun)))
    .orderBy(desc(evalRuns.createdAt))
    .limit(HISTORY);
  history.reverse();
  const scores = await runScores(database, run.id);
  const items = run.datasetName && run.datasetVersion ? await datasetItems(database, run.datasetName, run.datasetVersion) : undefined;
  return items ? { run, history, scores, items } : { run, history, scores };
}

async function datasetItems(database: Pick<Database, 'db'>, name: string, version: string): Promise<HtmlReportInput['items']> {
  try {
    return (await loadDataset(database, name, version)).items;
  } catch (err) {
    if (err instanceof DatasetError) return undefined; // the version is no longer stored
    throw err;
  }
}
