import type { PullProgress } from '@broodbox/image';
import { formatBytes } from '../output/byte-size.js';

interface LayerLine {
  digest: string;
  index: number;
  size: number;
  done: number;
  cached: boolean;
  finished: boolean;
}

/** Receives pull progress events; `finish()` draws the last state and stops. */
export interface ProgressReporter {
  onProgress: ((e: PullProgress) => void) | undefined;
  finish(): void;
}

/** Where and how progress is drawn. */
export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  quiet: boolean;
}

const REDRAW_MS = 100;
const BAR = 24;

/** True when progress should be drawn: a real terminal, not `--quiet`, not TERM=dumb. */
export function progressWanted(o: ProgressOptions): boolean {
  return !o.quiet && o.stream.isTTY === true && o.env.TERM !== 'dumb';
}

function useColor(env: NodeJS.ProcessEnv): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

/** Draws one line per layer and a total on a terminal, redrawn in place with ANSI cursor moves. */
class TerminalProgress implements ProgressReporter {
  private readonly layers = new Map<string, LayerLine>();
  private totalBytes = 0;
  private drawnLines = 0;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  readonly onProgress: (e: PullProgress) => void;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly color: boolean,
  ) {
    this.onProgress = (e) => this.handle(e);
  }

  private handle(e: PullProgress): void {
    if (this.finished) return;
    switch (e.type) {
      case 'resolved':
        this.totalBytes = e.bytes;
        break;
      case 'layer-start':
        this.layers.set(e.digest, { digest: e.digest, index: e.index, size: e.size, done: e.cached ? e.size : 0, cached: e.cached, finished: e.cached });
        break;
      case 'layer-progress': {
        const l = this.layers.get(e.digest);
        if (l) {
          l.done = e.done;
          if (e.total > 0) l.size = e.total;
        }
        break;
      }
      case 'layer-done': {
        const l = this.layers.get(e.digest);
        if (l) {
          l.finished = true;
          l.done = l.size;
        }
        break;
      }
      default:
        return;
    }
    this.schedule();
  }

  private schedule(): void {
    const now = Date.now();
    if (now - this.lastDraw >= REDRAW_MS) return this.draw();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, REDRAW_MS);
  }

  private paint(s: string, code: string): string {
    return this.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  private bar(done: number, size: number): string {
    const filled = size > 0 ? Math.min(BAR, Math.round((done / size) * BAR)) : 0;
    return '[' + '#'.repeat(filled) + '.'.repeat(BAR - filled) + ']';
  }

  private lineFor(l: LayerLine): string {
    const id = l.digest.replace(/^sha256:/, '').slice(0, 12);
    const state = l.cached ? this.paint('cached', '2') : l.finished ? this.paint('done', '32') : `${formatBytes(l.done)} / ${formatBytes(l.size)}`;
    return `  ${id}  ${this.bar(l.done, l.size)}  ${state}`;
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const layers = [...this.layers.values()].sort((a, b) => a.index - b.index);
    const done = layers.reduce((n, l) => n + (l.cached ? 0 : l.done), 0);
    const toFetch = this.totalBytes - layers.reduce((n, l) => n + (l.cached ? l.size : 0), 0);
    const lines = layers.map((l) => this.lineFor(l));
    lines.push(`  ${this.paint('total', '1')}  ${formatBytes(done)} / ${formatBytes(Math.max(toFetch, done))}`);
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.stream.write(up + lines.map((s) => `\x1b[2K${s}\n`).join(''));
    this.drawnLines = lines.length;
  }

  finish(): void {
    if (this.finished) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.layers.size > 0) this.draw();
    this.finished = true;
  }
}

const silent: ProgressReporter = { onProgress: undefined, finish() {} };

/** A progress reporter for a pull: drawn on a terminal, silent otherwise (pipes, files, `--quiet`). */
export function createProgress(o: ProgressOptions): ProgressReporter {
  return progressWanted(o) ? new TerminalProgress(o.stream, useColor(o.env)) : silent;
}
