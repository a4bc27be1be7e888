/**
 * The streams form of {@link runImage}, for embedders with their own UI: the program's stdin,
 * stdout and stderr as Node streams, `resize` and `kill` for the terminal and signals, and the
 * result as a promise.
 */
import { constants } from 'node:os';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { runImage, type RunImageOptions, type RunImageResult } from './image-run.js';
import { VmControl } from './vm-control.js';

/** Options of {@link startImage}: those of {@link runImage} without the streams it makes itself. */
export interface StartImageOptions extends Omit<RunImageOptions, 'stdin' | 'stdout' | 'stderr' | 'control' | 'tty'> {
  /** A terminal of this size (default none). On a terminal, stdout carries stderr too. */
  tty?: { cols: number; rows: number; term?: string };
}

/** A running image. */
export interface ImageRun {
  /** The program's stdin; `end()` it for end of file. */
  readonly stdin: Writable;
  /** The program's stdout (with a terminal: everything the terminal shows). Ends with the run. */
  readonly stdout: Readable;
  /** The program's stderr (empty with a terminal). Ends with the run. */
  readonly stderr: Readable;
  /** Resizes the terminal (the program gets SIGWINCH). */
  resize(cols: number, rows: number): void;
  /** Sends a signal to the program; false when it has not started yet or has ended. */
  kill(signal: NodeJS.Signals | number): boolean;
  /** Stops the VM at once (the result then rejects with VmAbortedError). */
  stop(): void;
  /** Settles when the VM has stopped and everything is cleaned up. */
  readonly result: Promise<RunImageResult>;
}

/** Starts `image` and returns its streams at once (nothing is read from stdin before the program runs). */
export function startImage(image: Parameters<typeof runImage>[0], opts: StartImageOptions = {}): ImageRun {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const control = new VmControl();
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  const result = runImage(image, { ...opts, stdin, stdout, stderr, control, signal, ...(opts.tty ? { tty: opts.tty } : {}) }).finally(() => {
    stdout.end();
    stderr.end();
  });
  return {
    stdin,
    stdout,
    stderr,
    resize: (cols, rows) => control.resize(cols, rows),
    kill: (sig) => control.signal(typeof sig === 'number' ? sig : constants.signals[sig]),
    stop: () => stopper.abort(),
    result,
  };
}
