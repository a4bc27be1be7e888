import { ExitCode, exitCodeFor, type ExitCodeValue } from './exit-codes.js';

/** A failure the user can act on; `hint` is printed on its own line after the message. */
export class CliError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;
  constructor(message: string, opts: { code: string; hint?: string; exitCode?: ExitCodeValue; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? exitCodeFor(opts.code);
  }
}

/** A config file or environment value that is not valid; the message names the file, key and value. */
export class ConfigError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'CONFIG_INVALID', hint: hint ?? 'see docs/config.md for every key and its allowed values', exitCode: ExitCode.usage });
  }
}

/** A bad command-line value (the message names the option and what it accepts). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'USAGE', exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
  }
}

interface Coded {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  hint?: unknown;
}

function codeOf(err: Coded): string | undefined {
  if (err.name === 'AbortError') return 'ABORT_ERR';
  return typeof err.code === 'string' ? err.code : undefined;
}

/** A hint for library errors whose message does not already say what to do. */
function hintFor(code: string | undefined, err: Coded): string | undefined {
  if (typeof err.hint === 'string') return err.hint;
  switch (code) {
    case 'IMAGE_NOT_CACHED':
      return 'pull it while the registry is reachable (bbox pull REF), or use --pull if-not-present';
    case 'EACCES':
    case 'EPERM':
      return 'check the permissions of the cache directory (--cache-dir or BBOX_CACHE_DIR)';
    case 'ENOSPC':
      return 'free disk space (bbox cache gc) or point --cache-dir at a larger disk; nothing cached was lost';
    default:
      return undefined;
  }
}

/** What is printed for an error, and the exit code. */
export interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/** Turns any thrown value into at most a message line, a hint line and an exit code. */
export function describeError(err: unknown, debug: boolean): ErrorReport {
  const e: Coded = typeof err === 'object' && err !== null ? (err as Coded) : { message: String(err) };
  const code = codeOf(e);
  const exitCode = err instanceof CliError ? err.exitCode : exitCodeFor(code);
  if (code === 'INTERRUPTED' || code === 'ABORT_ERR') return { lines: ['bbox: interrupted'], exitCode };
  const message = typeof e.message === 'string' && e.message ? e.message : String(err);
  const lines = [`bbox: ${message}`];
  const hint = hintFor(code, e);
  if (hint) lines.push(`hint: ${hint}`);
  const expected = err instanceof CliError || code !== undefined;
  if (debug && err instanceof Error && err.stack) lines.push(err.stack);
  else if (!expected) lines.push('hint: this looks like a bug in bbox; run again with BBOX_DEBUG=1 for details and report it');
  return { lines, exitCode };
}
