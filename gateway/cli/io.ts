/** Where a command writes: the process's streams, or a capture in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** For progress output that redraws on a terminal. */
  stdout: { write(text: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(text: string): unknown; isTTY?: boolean | undefined };
}

export const processIo = (): CliIo => ({
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdout: process.stdout,
  stderr: process.stderr,
});
