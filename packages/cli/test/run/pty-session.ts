// A command on a real host pseudo-terminal (pty-driver.py, Python's pty module), driven from a test.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Path of the driver script (the bench uses it too). */
export const PTY_DRIVER = fileURLToPath(new URL('./pty-driver.py', import.meta.url));

interface Reply {
  ok: boolean;
  text?: string;
  stty?: string;
  code?: number | null;
  signal?: number | null;
  ms?: number[];
}

/** A running command on a terminal of its own. */
export interface PtySession {
  pid: number;
  send(data: string): Promise<void>;
  /** Waits for output matching `re` (consumed up to the match); rejects with the unread output on timeout. */
  expect(re: string, timeoutSec?: number): Promise<string>;
  resize(cols: number, rows: number): Promise<void>;
  /** `stty -g` of the terminal. */
  settings(): Promise<string>;
  /** `stty -g` of the terminal before the command started. */
  initialSettings(): Promise<string>;
  /** Round-trip times (ms) of `count` single-byte writes read back as echo. */
  echo(data: string, count: number): Promise<number[]>;
  wait(timeoutSec?: number): Promise<{ code: number | null; signal: number | null; text: string }>;
  close(): void;
}

export function startOnPty(argv: string[], opts: { cols: number; rows: number; env: Record<string, string>; cwd?: string }): PtySession {
  const child = spawn('python3', [PTY_DRIVER, String(opts.cols), String(opts.rows), '--', ...argv], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const replies: Reply[] = [];
  const waiting: Array<(r: Reply) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = JSON.parse(line) as Reply;
    const next = waiting.shift();
    if (next) next(r);
    else replies.push(r);
  });
  const ask = (req: object): Promise<Reply> => {
    child.stdin.write(JSON.stringify(req) + '\n');
    return new Promise((resolve) => {
      const ready = replies.shift();
      if (ready) resolve(ready);
      else waiting.push(resolve);
    });
  };
  return {
    pid: child.pid ?? -1,
    send: async (data) => void (await ask({ op: 'send', data })),
    async expect(re, timeoutSec = 60) {
      const r = await ask({ op: 'expect', re, timeout: timeoutSec });
      if (!r.ok) throw new Error(`no output matching /${re}/ within ${timeoutSec} s; unread output: ${JSON.stringify(r.text)}`);
      return r.text ?? '';
    },
    resize: async (cols, rows) => void (await ask({ op: 'resize', cols, rows })),
    settings: async () => (await ask({ op: 'settings' })).stty ?? '',
    initialSettings: async () => (await ask({ op: 'initial' })).stty ?? '',
    echo: async (data, count) => (await ask({ op: 'echo', data, count })).ms ?? [],
    async wait(timeoutSec = 60) {
      const r = await ask({ op: 'wait', timeout: timeoutSec });
      if (!r.ok) throw new Error(`the command did not end within ${timeoutSec} s; output: ${JSON.stringify(r.text)}`);
      return { code: r.code ?? null, signal: r.signal ?? null, text: r.text ?? '' };
    },
    close: () => {
      child.stdin.end();
      child.kill();
    },
  };
}
