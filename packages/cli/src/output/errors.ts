import { ImageError, type ImageErrorRemedy } from '@broodbox/image';
import { OciError } from 'oci-client-lite/errors';
import { VmError } from '@broodbox/vmm/errors';
import { ExitCode, exitCodeFor, type CliErrorCode, type ErrorCode, type ExitCodeValue, type NodeErrorCode } from './exit-codes.js';

/** A failure the user can act on; `hint` is printed on its own line after the message. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;
  constructor(message: string, opts: { code: CliErrorCode; hint?: string; exitCode?: ExitCodeValue; cause?: unknown }) {
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

/**
 * The `code` of an error bbox or its libraries raised (read from their base classes), or of one
 * of Node's (an abort, an errno); undefined for anything else, which is a bug.
 */
function codeOf(err: unknown): ErrorCode | NodeErrorCode | string | undefined {
  if (err instanceof CliError || err instanceof ImageError || err instanceof OciError || err instanceof VmError) return err.code;
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'AbortError') return 'ABORT_ERR';
  const errno = (err as NodeJS.ErrnoException).code;
  return typeof errno === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined ? errno : undefined;
}

// The libraries state facts; what to type about them is the CLI's to say.
const REMEDY_HINTS: Record<ImageErrorRemedy, string> = {
  repair: 'run bbox cache verify --repair, then pull again',
  'free-space': 'free disk space (bbox cache gc or bbox cache purge) or point --cache-dir at a larger disk; nothing cached was lost',
  'pull-first': 'pull it while the registry is reachable (bbox pull REF), or use --pull if-not-present',
  'other-cache': 'choose another cache directory with --cache-dir (or BBOX_CACHE_DIR)',
};

const CODE_HINTS: Partial<Record<ErrorCode | NodeErrorCode, string>> = {
  EACCES: 'check the permissions of the cache directory (--cache-dir or BBOX_CACHE_DIR)',
  EPERM: 'check the permissions of the cache directory (--cache-dir or BBOX_CACHE_DIR)',
  ENOSPC: REMEDY_HINTS['free-space'],
  CACHE_LOCKED: 'another bbox process is working on the cache; retry when it has finished',
  ENTRY_HELD: 'a running bbox pull or VM uses it; retry when it has finished',
};

/** The hint printed under an error: its own (CliError), or the CLI's words for its remedy or code. */
function hintFor(err: unknown, code: string | undefined): string | undefined {
  if (err instanceof CliError) return err.hint;
  if (err instanceof ImageError && err.remedy !== undefined) return REMEDY_HINTS[err.remedy];
  return code === undefined ? undefined : CODE_HINTS[code as keyof typeof CODE_HINTS];
}

/** What is printed for an error, and the exit code. */
export interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/** Turns any thrown value into at most a message line, a hint line and an exit code. */
export function describeError(err: unknown, debug: boolean): ErrorReport {
  const code = codeOf(err);
  const exitCode = err instanceof CliError ? err.exitCode : exitCodeFor(code);
  if (code === 'INTERRUPTED' || code === 'ABORT_ERR') return { lines: ['bbox: interrupted'], exitCode };
  const message = err instanceof Error && err.message ? err.message : String(err);
  const lines = [`bbox: ${message}`];
  const hint = hintFor(err, code);
  if (hint) lines.push(`hint: ${hint}`);
  if (debug && err instanceof Error && err.stack) lines.push(err.stack);
  else if (code === undefined) lines.push('hint: this looks like a bug in bbox; run again with BBOX_DEBUG=1 for details and report it');
  return { lines, exitCode };
}
