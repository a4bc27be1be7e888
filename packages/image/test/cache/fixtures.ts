import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Cache, type CacheOptions } from '../../src/cache/cache.js';
import { cacheWriter } from '../../src/cache/writer.js';

/** Absolute URL of the cache module, for child processes. */
export const CACHE_MODULE = new URL('../../src/cache/cache.ts', import.meta.url).href;
export const WRITER_MODULE = new URL('../../src/cache/writer.ts', import.meta.url).href;
export const LOCK_MODULE = new URL('../../src/cache/lock-names.ts', import.meta.url).href;
const PKG_ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function fakeDigest(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** A scratch directory removed after the test. */
export async function scratch(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bbox-cache-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function tempCache(t: Teardown, opts: CacheOptions = {}): Promise<{ cache: Cache; dir: string; base: string }> {
  const base = await scratch(t);
  const dir = join(base, 'cache');
  return { cache: new Cache(dir, opts), dir, base };
}

export interface FakeImage {
  digest: string;
  files?: Record<string, string>;
  layers?: string[];
  size?: number;
  topDigest?: string;
  platform?: string;
  summary?: unknown;
}

/** Publishes an entry the way the puller does: a tmp dir with rootfs/, then publishEntry. */
export async function publishFake(cache: Cache, img: FakeImage): Promise<string> {
  const tmp = await cacheWriter(cache).createTmpDir('rootfs');
  await mkdir(join(tmp, 'rootfs'));
  for (const [name, body] of Object.entries(img.files ?? { 'etc/os-release': `ID=${img.digest}\n` })) {
    await mkdir(dirname(join(tmp, 'rootfs', name)), { recursive: true });
    await writeFile(join(tmp, 'rootfs', name), body);
  }
  const layers = img.layers ?? [];
  return cacheWriter(cache).publishEntry(tmp, {
    digest: img.digest,
    ...(img.topDigest ? { topDigest: img.topDigest } : {}),
    platform: img.platform ?? 'linux/amd64',
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers } },
    layers: layers.map((diffID) => ({ digest: fakeDigest(`blob-${diffID}`), diffID, size: 100 })),
    size: img.size ?? 1000,
    ...(img.summary !== undefined ? { summary: img.summary } : {}),
  });
}

export async function publishFakeLayer(cache: Cache, diffID: string, bytes = 500): Promise<string> {
  const tmp = await cacheWriter(cache).createTmpDir('layer');
  await writeFile(join(tmp, 'file'), diffID);
  return cacheWriter(cache).publishLayer(tmp, diffID, bytes);
}

/** Sets an entry's last use to `when`. */
export async function setLastUsed(cache: Cache, digest: string, when: Date): Promise<void> {
  await utimes(join(cache.entryPath(digest), 'last-used'), when, when);
}

/** A child Node process running `code` (an ES module body; `Cache` is in scope), talking by lines. */
export class Child {
  readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  private ended = false;

  constructor(code: string, env: Record<string, string> = {}) {
    const body = `import { Cache } from ${JSON.stringify(CACHE_MODULE)};\nimport { cacheWriter } from ${JSON.stringify(WRITER_MODULE)};\nimport { lockNames } from ${JSON.stringify(LOCK_MODULE)};\n` +
      `import { createInterface } from 'node:readline';\n` +
      `const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();\n` +
      `const next = async () => (await input.next()).value;\n` +
      `const say = (s) => process.stdout.write(s + '\\n');\n${code}\nprocess.exit(0);\n`;
    this.proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', body], {
      cwd: PKG_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = once(this.proc, 'exit').then(([code]) => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
      return code as number | null;
    });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the first line matching `re` (waits for it). */
  async waitFor(re: RegExp): Promise<string> {
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.ended) throw new Error(`child exited without printing ${re}; it printed: ${this.lines.join(' | ')}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  async kill(): Promise<void> {
    if (!this.ended) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}
