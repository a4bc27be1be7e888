import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildImage, diffTrees, inspectCacheDir, makeLayer, pushImage, snapshotTree, startRegistry, tempDir } from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher } from '../../src/pull/pull.js';

// The cache on a small tmpfs (8 MiB): an image that does not fit fails with one named error, leaves
// nothing in tmp/, takes no space, and the entries already there stay intact and usable.

const BBOX = fileURLToPath(new URL('../../../cli/bin/bbox.js', import.meta.url));
const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-diskfull-');
const mnt = join(base, 'small');
await mkdir(mnt);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mnt], { encoding: 'utf8' });
if (mounted.status !== 0) {
  throw new Error(`cannot mount an 8 MiB tmpfs at ${mnt} (${mounted.stderr.trim() || mounted.error?.message}); this suite needs root and tmpfs`);
}
t.teardown(() => {
  const r = spawnSync('umount', [mnt]);
  if (r.status !== 0) spawnSync('umount', ['-l', mnt]);
});
const cacheDir = join(mnt, 'cache');

const small = buildImage({ layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/small', type: 'file', content: randomBytes(100_000) }])] });
await pushImage(reg.url, 'full/small', small, { tag: 'v1' });
const other = buildImage({ layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/other', type: 'file', content: randomBytes(50_000) }])] });
await pushImage(reg.url, 'full/other', other, { tag: 'v1' });
const big = buildImage({
  layers: [0, 1, 2].map((i) => makeLayer([{ path: `big${i}`, type: 'file', content: randomBytes(4 * 1024 * 1024) }])),
});
await pushImage(reg.url, 'full/big', big, { tag: 'v1' });

const cache = () => new Cache(cacheDir);
const first = await pullWithFetcher(`${reg.host}/full/small:v1`, { cache: cache(), platform: 'linux/amd64' });
const smallTree = await snapshotTree(first.path);

async function storedLayers(): Promise<string[]> {
  return (await readdir(join(cacheDir, 'layers'))).filter((n) => !n.endsWith('.json')).sort();
}

async function usedBytes(): Promise<number> {
  const s = await statfs(mnt);
  return (s.blocks - s.bfree) * s.bsize;
}

t.test('a pull that does not fit fails with one named error and leaves no trace', async (t) => {
  const usedBefore = await usedBytes();
  const err = await pullWithFetcher(`${reg.host}/full/big:v1`, { cache: cache(), platform: 'linux/amd64' }).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  if (!err) return void t.fail('a 12 MiB image fitted in an 8 MiB filesystem');
  t.ok(err.name !== 'Error', `a named error class, not a bare system error (${err.name}, code ${String(err.code)})`);
  t.match(err.message, /space|full/i, `the message says the disk is full: ${err.message}`);
  t.ok(err.message.includes(mnt), 'and names the cache directory that is full');
  const inv = await inspectCacheDir(cacheDir);
  t.same(inv.tmp, [], 'nothing left in tmp/');
  t.same(inv.problems, [], 'no partial entry, no dangling ref');
  t.same(inv.entries, [small.digest], 'only the older entry');
  t.ok((await usedBytes()) <= usedBefore + 64 * 1024, 'the space taken by the failed pull is given back');
});

t.test('a layer that was stored before the disk filled up is given back too', async (t) => {
  const mixed = buildImage({
    layers: [
      makeLayer([{ path: 'small-first', type: 'file', content: randomBytes(512 * 1024) }]),
      makeLayer([{ path: 'too-big', type: 'file', content: randomBytes(10 * 1024 * 1024) }]),
    ],
  });
  await pushImage(reg.url, 'full/mixed', mixed, { tag: 'v1' });
  const layersBefore = await storedLayers();
  const usedBefore = await usedBytes();
  const err = await pullWithFetcher(`${reg.host}/full/mixed:v1`, { cache: cache(), platform: 'linux/amd64' }).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  t.equal(err?.name, 'CacheFullError', err?.message ?? 'the pull did not fail');
  t.same(await storedLayers(), layersBefore, 'the layer store holds what it held before');
  t.ok((await usedBytes()) <= usedBefore + 64 * 1024, 'and the space is back');
});

t.test('older entries are intact and usable after the failure', async (t) => {
  const again = await pullWithFetcher(`${reg.host}/full/small:v1`, { cache: cache(), platform: 'linux/amd64', policy: 'never' });
  t.equal(again.path, first.path, 'the ref still resolves to the same entry');
  t.same(diffTrees(smallTree, await snapshotTree(again.path)), [], 'with the same files');
  const next = await pullWithFetcher(`${reg.host}/full/other:v1`, { cache: cache(), platform: 'linux/amd64' });
  t.equal(next.digest, other.digest, 'a pull that fits still works');
});

t.test('bbox pull on a full disk: one message, non-zero exit', async (t) => {
  let code = 0;
  let stderr = '';
  try {
    execFileSync(process.execPath, [BBOX, 'pull', '--cache-dir', cacheDir, '--platform', 'linux/amd64', `${reg.host}/full/big:v1`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: base },
    });
  } catch (e) {
    code = (e as { status: number }).status;
    stderr = String((e as { stderr: Buffer }).stderr);
  }
  t.not(code, 0, 'non-zero exit');
  t.match(stderr, /^bbox: .*(space|full)/i, `one message about space: ${stderr.trim()}`);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
  t.same((await inspectCacheDir(cacheDir)).tmp, [], 'nothing left in tmp/');
});
