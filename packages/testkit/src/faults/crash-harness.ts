import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRandom } from '../images/random-layers.js';

/** A child process that a test kills with SIGKILL at a moment of its choosing. */
export interface KillableChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Settles when the process has exited: its code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Sends SIGKILL (no cleanup runs in the child) and waits for the exit. */
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Options of {@link spawnKillable}. */
export interface SpawnKillableOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A hard stop (SIGKILL) in case the child hangs; default 120 s. */
  timeoutMs?: number;
}

/** Starts `command args` with piped output, ready to be killed with SIGKILL. */
export function spawnKillable(command: string, args: string[], opts: SpawnKillableOptions = {}): KillableChild {
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const guard = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const exited = once(proc, 'exit').then(([code, signal]) => {
    clearTimeout(guard);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  return {
    proc,
    pid: proc.pid,
    exited,
    stdout: () => out,
    stderr: () => err,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return exited;
    },
  };
}

/** Where a crash trial kills the puller. */
export type CrashPoint =
  /** While the manifest request hangs before its headers. */
  | { kind: 'manifest' }
  /** While the `blob`-th layer download (0-based, in manifest order) hangs after `afterBytes` bytes. */
  | { kind: 'blob'; blob: number; afterBytes: number }
  /** `delayMs` after every blob has been served: during decompression, composition or publication. */
  | { kind: 'after-download'; delayMs: number };

/** One seeded crash trial. */
export interface CrashTrial {
  index: number;
  point: CrashPoint;
}

/**
 * Plans `count` crash points from `seed` over blobs of the given sizes: about one in ten while
 * the manifest hangs, half inside a layer download at a seeded byte offset, the rest at a seeded
 * delay (0 to `maxDelayMs`) after the downloads, while the layers are applied and published.
 */
export function planCrashTrials(seed: number, count: number, blobSizes: number[], maxDelayMs = 400): CrashTrial[] {
  const rnd = new SeededRandom(seed);
  const trials: CrashTrial[] = [];
  for (let index = 0; index < count; index++) {
    const roll = rnd.next();
    let point: CrashPoint;
    if (roll < 0.1 || blobSizes.length === 0) point = { kind: 'manifest' };
    else if (roll < 0.6) {
      const blob = rnd.int(0, blobSizes.length - 1);
      point = { kind: 'blob', blob, afterBytes: rnd.int(0, Math.max(0, (blobSizes[blob] ?? 1) - 1)) };
    } else point = { kind: 'after-download', delayMs: rnd.int(0, maxDelayMs) };
    trials.push({ index, point });
  }
  return trials;
}

/** What {@link inspectCacheDir} found wrong, one line per problem. */
export interface CacheInspection {
  /** Digests of complete entries (meta.json and rootfs/ present). */
  entries: string[];
  /** Ref records: ref, platform and the digest they point at. */
  refs: Array<{ ref: string; platform: string; digest: string }>;
  /** Names left in tmp/. */
  tmp: string[];
  problems: string[];
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined))?.isDirectory() === true;
}

async function inspectEntries(root: string, out: CacheInspection): Promise<void> {
  for (const name of await names(join(root, 'images'))) {
    const dir = join(root, 'images', name);
    const complete = (await lstat(join(dir, 'meta.json')).catch(() => undefined))?.isFile() && (await isDir(join(dir, 'rootfs')));
    if (complete) out.entries.push(name.replace('-', ':'));
    else out.problems.push(`images/${name} is a partial entry (no meta.json or no rootfs/)`);
  }
}

async function inspectRefs(root: string, out: CacheInspection): Promise<void> {
  for (const name of await names(join(root, 'refs'))) {
    let rec: { ref?: unknown; platform?: unknown; digest?: unknown };
    try {
      rec = JSON.parse(await readFile(join(root, 'refs', name), 'utf8')) as typeof rec;
    } catch {
      out.problems.push(`refs/${name} is not readable JSON`);
      continue;
    }
    const digest = String(rec.digest);
    out.refs.push({ ref: String(rec.ref), platform: String(rec.platform), digest });
    if (!out.entries.includes(digest)) out.problems.push(`ref ${String(rec.ref)} points at ${digest}, which is not a complete entry`);
  }
}

/**
 * Reads a bbox image cache directory as docs/cache-layout.md describes it (images/, refs/,
 * tmp/) and reports what breaks the crash-safety invariants: partial entries, refs to missing
 * entries, unreadable records. Leftovers in tmp/ are listed, not judged (a live process may own them).
 */
export async function inspectCacheDir(root: string): Promise<CacheInspection> {
  const out: CacheInspection = { entries: [], refs: [], tmp: await names(join(root, 'tmp')), problems: [] };
  await inspectEntries(root, out);
  await inspectRefs(root, out);
  return out;
}
