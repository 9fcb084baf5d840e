/** The eval commands' lines of `sluice help`: its own module, so the help text loads nothing else. */
export const EVAL_USAGE = `  eval run <job.yaml> [--json out.json] [--gateway URL --key K]
                      run an eval job; prints progress, a results table and the verdict;
                      exits 1 on a regression (a CI gate), 2 when the run cannot be done
  eval report <run-id> [--html out.html]
                      the results table of a stored run, or a self-contained HTML report
  worker [--concurrency N] [--schedules file.yaml]
                      run queued and scheduled eval jobs (pg-boss with DATABASE_URL)`;
