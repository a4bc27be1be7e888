// Shared set-up of the `bbox run` system tests: a real registry holding a busybox image, a
// sandboxed HOME and cache, and a Debian cloud kernel fetched once by the repository's script.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, makeLayer, pushImage, startRegistry, type Registry } from '@broodbox/testkit';
import type { Test } from 'tap';
import { BBOX_BIN, makeSandbox, type Sandbox } from '../bbox-process.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));
const APPLETS = ['sh', 'echo', 'sleep', 'stty', 'wc', 'cat', 'kill', 'tty', 'true'];

/** A Debian cloud kernel unpacked once into a shared directory by the repository's script. */
export function kernelDir(): string {
  const dir = process.env.BBOX_KERNEL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'broodbox', 'kernel');
  execFileSync('bash', [join(repo, 'scripts/fetch-kernel.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

/** A busybox image layer; `marker` makes images with different digests. */
export function busyboxLayer(marker = 'one') {
  return makeLayer([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync('/bin/busybox') },
    ...APPLETS.map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: 'etc/marker', type: 'file', content: `${marker}\n` },
    { path: 'tmp/', type: 'dir' },
  ]);
}

export interface RunFixture {
  reg: Registry;
  sb: Sandbox;
  /** `host/run/busybox:1`. */
  ref: string;
  /** The sandbox's environment plus the kernel directory and TERM. */
  env: Record<string, string>;
  /** `bbox run` with the sandbox cache and TCG, then `args`. */
  runArgs(args: string[]): string[];
  /** Pushes a busybox image with `marker` as `repo:tag`. */
  push(repository: string, tag: string, marker: string): Promise<void>;
  /** Starts bbox (not on a terminal) with piped stdio. */
  spawnBbox(args: string[], stdin?: 'pipe' | 'ignore'): ChildProcess;
}

export async function runFixture(t: Test): Promise<RunFixture> {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const push = async (repository: string, tag: string, marker: string) => {
    await pushImage(reg.url, repository, buildImage({ layers: [busyboxLayer(marker)], config: { Cmd: ['sh'] } }), { tag });
  };
  await push('run/busybox', '1', 'one');
  const env = { ...sb.env, BBOX_KERNEL_DIR: kernelDir(), TERM: 'xterm-256color' };
  const runArgs = (args: string[]) => ['run', '--cache-dir', sb.cacheDir, '--accel', 'tcg', ...args];
  return {
    reg,
    sb,
    ref: `${reg.host}/run/busybox:1`,
    env,
    runArgs,
    push,
    spawnBbox: (args, stdin = 'ignore') => spawn(process.execPath, [BBOX_BIN, ...args], { env, cwd: sb.workdir, stdio: [stdin, 'pipe', 'pipe'] }),
  };
}

/** Resolves with the output up to the first match of `re` on `stream`; rejects after `ms`. */
export function waitForOutput(stream: NodeJS.ReadableStream, re: RegExp, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`no output matching ${re} within ${ms} ms: ${JSON.stringify(text)}`));
    }, ms);
    const onData = (d: Buffer) => {
      text += d.toString();
      if (re.test(text)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
  });
}

/** Pids of QEMU processes whose command line mentions `needle`. */
export function qemuPidsWith(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('qemu-system') && cmdline.includes(needle)) pids.push(Number(name));
  }
  return pids;
}
