import { describeError } from './errors.js';

/** Where a command reads its environment and writes its output. */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Prints an error as `bbox: …` (and a hint) on stderr and returns its exit code. */
export function reportError(io: CommandIo, err: unknown): number {
  const report = describeError(err, io.env.BBOX_DEBUG === '1');
  io.stderr.write(report.lines.join('\n') + '\n');
  return report.exitCode;
}

/** Prints a warning on stderr. */
export function warn(io: CommandIo, message: string): void {
  io.stderr.write(`bbox: warning: ${message}\n`);
}
