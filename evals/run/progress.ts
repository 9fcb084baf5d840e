/**
 * Progress on stderr: a redrawn bar on a terminal, plain lines every 10% otherwise (CI logs).
 */
export interface Progress {
  start(total: number, label: string): void;
  tick(n?: number): void;
  done(): void;
}

export const silentProgress: Progress = { start() {}, tick() {}, done() {} };

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function progressBar(out: Out = process.stderr, now: () => number = Date.now): Progress {
  let total = 0;
  let done = 0;
  let label = '';
  let started = 0;
  let lastDraw = 0;
  let lastDecile = -1;
  const tty = out.isTTY === true;

  const line = (): string => {
    const pct = total ? done / total : 1;
    const secs = (now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? Math.round((total - done) / rate) : null;
    const width = Math.max(10, Math.min(30, (out.columns ?? 80) - 50));
    const filled = Math.round(pct * width);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${(pct * 100).toFixed(0)}%${eta === null ? '' : ` eta ${eta}s`}`;
  };

  return {
    start(t, l) {
      total = t;
      label = l;
      done = 0;
      started = now();
      lastDecile = -1;
      if (tty) out.write(line());
      else out.write(`${label}: ${total} to do\n`);
    },
    tick(n = 1) {
      done += n;
      if (tty) {
        if (now() - lastDraw >= 100 || done === total) {
          lastDraw = now();
          out.write(`\r\x1b[2K${line()}`);
        }
        return;
      }
      const decile = total ? Math.floor((done / total) * 10) : 10;
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        out.write(`${line()}\n`);
      }
    },
    done() {
      out.write(tty ? `\r\x1b[2K${line()}\n` : `${line()}\n`);
    },
  };
}
