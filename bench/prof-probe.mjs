// Preloaded into a gateway by bench/long-tasks.ts (NODE_OPTIONS=--import …/prof-probe.mjs):
// the first SIGUSR2 starts V8's CPU profiler on the main thread at $SLUICE_PROF_INTERVAL_US
// (NODE_OPTIONS may not carry --cpu-prof-interval), the next one stops it and writes
// $SLUICE_PROF_DIR/<pid>-<n>.cpuprofile. Not part of the gateway: only the bench loads it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.SLUICE_PROF_DIR;
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((res, rej) => session.post(method, params ?? {}, (err, r) => (err ? rej(err) : res(r))));
  let running = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!running) {
        running = true;
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: Number(process.env.SLUICE_PROF_INTERVAL_US ?? 100) });
        await post('Profiler.start');
        writeFileSync(join(dir, `${process.pid}.started`), '');
      } else {
        running = false;
        const { profile } = await post('Profiler.stop');
        writeFileSync(join(dir, `${process.pid}-${++n}.cpuprofile`), JSON.stringify(profile));
      }
    })();
  });
}
