import { ExitCode } from '../output/exit-codes.js';
import { CliError } from '../output/errors.js';

/** An AbortSignal tied to Ctrl-C and SIGTERM, and the exit code the signal asks for. */
export interface Interrupt {
  signal: AbortSignal;
  /** Set once a signal has arrived. */
  exitCode(): number | undefined;
  /** After a signal, whatever the aborted operation threw becomes one "interrupted" error. */
  explain(err: unknown): unknown;
  dispose(): void;
}

function abortError(what: string): Error {
  const err = new Error(`interrupted by ${what}`);
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

/**
 * Aborts the current operation on the first SIGINT/SIGTERM so that it can clean up (the cache
 * keeps nothing partial); a second signal exits at once.
 */
export function watchInterrupts(): Interrupt {
  const controller = new AbortController();
  let code: number | undefined;
  const on = (sig: 'SIGINT' | 'SIGTERM', exit: number) => () => {
    if (code !== undefined) process.exit(code);
    code = exit;
    controller.abort(abortError(sig));
  };
  const onInt = on('SIGINT', ExitCode.interrupted);
  const onTerm = on('SIGTERM', ExitCode.terminated);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    exitCode: () => code,
    explain: (err) =>
      code === undefined ? err : new CliError('interrupted', { code: 'INTERRUPTED', exitCode: code as typeof ExitCode.interrupted }),
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
