import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Where a harness registry's output (access log included) goes, and how it is read back. */
export interface RegistryLog {
  /** What to give `spawn` as the child's stdout and stderr. */
  readonly stdio: 'pipe' | number;
  /** Collects the child's output when it is piped. */
  attach(child: ChildProcess): void;
  /** Everything written so far (for a file: its last 1 MB). */
  read(): string;
  /** Releases the file once the child has exited. */
  close(): Promise<void>;
}

const KEEP = 1_000_000;

/** Output kept in memory, trimmed to its last 1 MB once it passes 2 MB. */
export function memoryLog(): RegistryLog {
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2 * KEEP) out = out.slice(-KEEP);
  };
  return {
    stdio: 'pipe',
    attach(child) {
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    },
    read: () => out,
    close: () => Promise.resolve(),
  };
}

/**
 * Output appended to `file` by the registry itself (the child writes to the descriptor, with no
 * relay through this process), so another reader can follow the access log as it grows.
 */
export async function fileLog(file: string): Promise<RegistryLog> {
  const fh = await open(file, 'a');
  let closed: Promise<void> | undefined;
  return {
    stdio: fh.fd,
    attach() {},
    read() {
      try {
        return readFileSync(file, 'utf8').slice(-KEEP);
      } catch {
        return '';
      }
    },
    close() {
      closed ??= fh.close();
      return closed;
    },
  };
}
