/**
 * The host terminal of `bbox run -t`: raw mode while the VM runs (Ctrl-C, Ctrl-Z and Ctrl-D travel
 * to the guest as bytes), the window size followed through SIGWINCH, and the settings restored on
 * every way out: the end of the run, an error, a signal, and `process.exit` (the exit handler).
 */
import { spawnSync } from 'node:child_process';
import type { ReadStream, WriteStream } from 'node:tty';

/** What a run needs from the host terminal. */
export interface HostTerminal {
  /** The size to start the guest terminal with. */
  size: { cols: number; rows: number };
  /** Stops following the window and restores the terminal (idempotent). */
  restore(): void;
}

/** The window size of `out` when it is a terminal, else of the input terminal, else 80x24. */
function sizeOf(out: NodeJS.WriteStream): { cols: number; rows: number } {
  const tty = out as Partial<WriteStream>;
  return { cols: tty.columns || 80, rows: tty.rows || 24 };
}

/**
 * Prepares the host terminal for a run on a guest terminal. `raw`: put stdin (a terminal) in raw
 * mode. `onResize` gets each new window size.
 */
export function openHostTerminal(opts: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; raw: boolean; onResize: (cols: number, rows: number) => void }): HostTerminal {
  const input = opts.stdin as Partial<ReadStream>;
  const raw = opts.raw && input.isTTY === true && typeof input.setRawMode === 'function';
  if (raw) {
    input.setRawMode!(true);
    // Node's raw mode keeps output post-processing (\n -> \r\n); the guest terminal already does
    // that, and full-screen programs move the cursor with a bare \n. setRawMode(false), and Node
    // itself at exit, put back the settings from before, this one included.
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  }
  const onWinch = () => {
    const { cols, rows } = sizeOf(opts.stdout);
    opts.onResize(cols, rows);
  };
  process.on('SIGWINCH', onWinch);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('SIGWINCH', onWinch);
    process.off('exit', restore);
    if (raw) input.setRawMode!(false);
  };
  process.on('exit', restore);
  return { size: sizeOf(opts.stdout), restore };
}
