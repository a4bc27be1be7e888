import t from 'tap';
import { chmod, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from '../../src/cache/cache.js';
import {
  CacheCorruptError,
  CacheDirError,
  CacheVersionError,
  EntryNotFoundError,
  ImageNotCachedError,
} from '../../src/errors/cache-errors.js';
import { defaultCacheDir } from '../../src/cache/layout.js';
import { Child, fakeDigest, publishFake, publishFakeLayer, scratch, setLastUsed, tempCache } from './fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

const A = fakeDigest('image-a');
const B = fakeDigest('image-b');
const INDEX = fakeDigest('index');

t.test('default directory follows XDG_CACHE_HOME', async (t) => {
  t.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/broodbox/images');
  t.match(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/broodbox\/images$/, 'a relative XDG path is ignored');
});

t.test('first use creates the layout with a version marker and mode 0700', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  t.equal(await readFile(join(dir, 'VERSION'), 'utf8'), 'broodbox-image-cache 1\n');
  t.same((await readdir(dir)).sort(), ['VERSION', 'aliases', 'holds', 'images', 'layers', 'locks', 'refs', 'tmp']);
});

t.test('a cache root left readable by others is made 0700 again', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  await chmod(dir, 0o755);
  await new Cache(dir).init();
  t.equal((await stat(dir)).mode & 0o777, 0o700);
});

t.test('a non-empty directory that is not a cache is refused and left alone', async (t) => {
  const base = await scratch(t);
  await writeFile(join(base, 'notes.txt'), 'mine');
  await chmod(base, 0o755);
  const err = (await new Cache(base).init().catch((e: unknown) => e)) as CacheDirError;
  t.type(err, CacheDirError);
  t.equal(err.code, 'CACHE_DIR_INVALID');
  t.match(err.message, base);
  t.match(err.message, /a new or empty directory is needed/);
  t.notMatch(err.message, /--/, 'no command-line flag in a library message');
  t.same(await readdir(base), ['notes.txt'], 'nothing written');
  t.equal((await stat(base)).mode & 0o777, 0o755, 'mode untouched');
});

t.test('a cache of another layout version is refused', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  await writeFile(join(dir, 'VERSION'), 'broodbox-image-cache 9\n');
  const err = (await new Cache(dir).init().catch((e: unknown) => e)) as CacheVersionError;
  t.type(err, CacheVersionError);
  t.equal(err.code, 'CACHE_VERSION_UNSUPPORTED');
});

t.test('two first uses of one new directory at once: the other process\'s VERSION write does not make it foreign', async (t) => {
  const base = await scratch(t);
  // What a concurrent first use leaves while it writes VERSION (writeFileAtomic's temporary file).
  const inProgress = join(base, 'mid-write');
  await mkdir(inProgress);
  await writeFile(join(inProgress, '.VERSION.4242.0123456789ab.tmp'), 'broodbox-image-cache 1\n');
  await new Cache(inProgress).init();
  t.match(await readFile(join(inProgress, 'VERSION'), 'utf8'), /^broodbox-image-cache 1\n$/);
  // Any other name still marks a directory that is not a cache.
  const foreign = join(base, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, '.VERSION.tmp'), 'x');
  await t.rejects(new Cache(foreign).init(), CacheDirError);
  // Many first uses at once all succeed.
  const fresh = join(base, 'fresh');
  await Promise.all(Array.from({ length: 8 }, () => new Cache(fresh).init()));
  t.match(await readFile(join(fresh, 'VERSION'), 'utf8'), /^broodbox-image-cache 1\n$/);
});

t.test('a symlinked subdirectory is refused rather than followed', async (t) => {
  const { cache, dir, base } = await tempCache(t);
  await cache.init();
  const { rename, symlink } = await import('node:fs/promises');
  await rename(join(dir, 'images'), join(base, 'elsewhere'));
  await symlink(join(base, 'elsewhere'), join(dir, 'images'));
  await t.rejects(new Cache(dir).init(), CacheDirError);
});

t.test('lookupRef finds a published entry under any spelling of the normalised ref', async (t) => {
  const { cache } = await tempCache(t);
  const rootfs = await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('alpine', { digest: A, platform: 'linux/amd64' });
  for (const spelling of ['alpine', 'alpine:latest', 'docker.io/library/alpine:latest', 'index.docker.io/library/alpine']) {
    const hit = await cache.lookupRef(spelling, { platform: 'linux/amd64' });
    t.equal(hit?.digest, A, spelling);
    t.equal(hit?.path, rootfs);
    t.equal(hit?.ref, 'docker.io/library/alpine:latest');
    t.equal(hit?.fromCache, true);
    t.equal(hit?.config.architecture, 'amd64');
  }
  t.equal(await cache.lookupRef('alpine:3.20', { platform: 'linux/amd64' }), undefined, 'another tag is another ref');
  t.equal(await cache.lookupRef('alpine', { platform: 'linux/arm64' }), undefined, 'another platform is another record');
});

t.test('arm64 and arm64/v8 name one platform', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A, platform: 'linux/arm64/v8' });
  await cacheWriter(cache).recordRef('busybox', { digest: A, platform: 'linux/arm64/v8' });
  t.equal((await cache.lookupRef('busybox', { platform: 'linux/arm64' }))?.digest, A);
  t.equal((await cache.lookupRef('busybox', { platform: { os: 'linux', architecture: 'arm64' } }))?.digest, A);
});

t.test('a pinned ref is answered by its digest only, never by the tag mapping', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('app:1', { digest: A, platform: 'linux/amd64' });
  t.equal(await cache.lookupRef(`app:1@${B}`, { platform: 'linux/amd64' }), undefined, 'stale tag mapping is not used');
  await publishFake(cache, { digest: B });
  const hit = await cache.lookupRef(`app:1@${B}`, { platform: 'linux/amd64' });
  t.equal(hit?.digest, B);
  t.equal(hit?.ref, `docker.io/library/app:1@${B}`);
});

t.test('an index digest finds its platform entry through the alias recorded with the ref', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A, topDigest: INDEX });
  await cacheWriter(cache).recordRef('multi', { digest: A, topDigest: INDEX, platform: 'linux/amd64' });
  t.equal((await cache.get(INDEX, { platform: 'linux/amd64' }))?.digest, A);
  t.equal(await cache.get(INDEX, { platform: 'linux/arm64' }), undefined);
  t.equal((await cache.lookupRef(`multi@${INDEX}`, { platform: 'linux/amd64' }))?.digest, A);
  t.equal(await cache.get('sha256:short'), undefined, 'a malformed digest is simply not cached');
});

t.test('the rootfs holds exactly the image files; metadata sits beside it', async (t) => {
  const { cache } = await tempCache(t);
  const rootfs = await publishFake(cache, { digest: A, files: { 'bin/sh': 'x', 'etc/hostname': 'h' }, summary: { files: 2 } });
  t.same((await readdir(rootfs)).sort(), ['bin', 'etc']);
  t.same((await readdir(cache.entryPath(A))).sort(), ['last-used', 'meta.json', 'rootfs', 'summary.json']);
  const meta = await cache.entryMeta(A);
  t.equal(meta?.digest, A);
  t.equal(meta?.platform, 'linux/amd64');
  t.same(await cacheWriter(cache).entrySummary(A), { files: 2 });
});

t.test('nothing is visible before publish, and publish refuses what is not a cache tmp dir', async (t) => {
  const { cache, base } = await tempCache(t);
  const tmp = await cacheWriter(cache).createTmpDir('rootfs');
  await mkdir(join(tmp, 'rootfs'));
  await writeFile(join(tmp, 'rootfs', 'f'), 'x');
  t.equal(await cache.get(A), undefined);
  t.equal(await cache.hasEntry(A), false);
  t.same((await cache.list()).entries, []);
  const meta = { digest: A, platform: 'linux/amd64', config: { rootfs: { type: 'layers' as const, diff_ids: [] } }, layers: [], size: 1 };
  await mkdir(join(base, 'outside', 'rootfs'), { recursive: true });
  await t.rejects(cacheWriter(cache).publishEntry(join(base, 'outside'), meta), { code: 'NOT_A_TMP_DIR' });
  const empty = await cacheWriter(cache).createTmpDir('rootfs');
  await t.rejects(cacheWriter(cache).publishEntry(empty, meta), { code: 'NOTHING_TO_PUBLISH' });
  await t.rejects(cacheWriter(cache).publishEntry(tmp, { ...meta, digest: 'sha256:nope' }), { code: 'INVALID_DIGEST' });
  await cacheWriter(cache).publishEntry(tmp, meta);
  t.equal(await cache.hasEntry(A), true);
});

t.test('a second publish of one digest keeps the first and discards the second', async (t) => {
  const { cache, dir } = await tempCache(t);
  const first = await publishFake(cache, { digest: A, files: { who: 'first' } });
  const second = await publishFake(cache, { digest: A, files: { who: 'second' } });
  t.equal(second, first);
  t.equal(await readFile(join(first, 'who'), 'utf8'), 'first');
  t.same(await readdir(join(dir, 'tmp')), [], 'the losing tmp dir is gone');
});

t.test('a ref is recorded only for a complete entry', async (t) => {
  const { cache } = await tempCache(t);
  const err = (await cacheWriter(cache).recordRef('alpine', { digest: A }).catch((e: unknown) => e)) as EntryNotFoundError;
  t.type(err, EntryNotFoundError);
  t.equal(err.code, 'ENTRY_NOT_FOUND');
  t.match(err.message, A);
  t.equal(await cache.refRecord('alpine'), undefined);
});

t.test('every use moves the last-used clock', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('alpine', { digest: A });
  const old = new Date('2020-01-01T00:00:00Z');
  const lastUsed = join(cache.entryPath(A), 'last-used');
  for (const use of [() => cache.lookupRef('alpine'), () => cache.get(A), () => cache.touch(A)]) {
    await setLastUsed(cache, A, old);
    await use();
    t.ok((await stat(lastUsed)).mtimeMs > old.getTime() + 1000);
  }
});

t.test('list reports recorded sizes, refs, orphans, artifacts and layer totals without walking trees', async (t) => {
  const { cache } = await tempCache(t);
  const L1 = fakeDigest('l1');
  const L2 = fakeDigest('l2');
  await publishFakeLayer(cache, L1, 300);
  await publishFakeLayer(cache, L2, 700);
  const rootA = await publishFake(cache, { digest: A, layers: [L1], size: 4096 });
  await publishFake(cache, { digest: B, layers: [L1, L2], size: 8192 });
  await cacheWriter(cache).recordRef('alpine', { digest: A });
  await cacheWriter(cache).recordRef('alpine:3', { digest: A });
  await writeFile(join(rootA, 'grown'), Buffer.alloc(100_000));
  const tmp = await cacheWriter(cache).createTmpDir('disk');
  await writeFile(join(tmp, 'disk.ext4'), Buffer.alloc(1000));
  const { rename } = await import('node:fs/promises');
  await rename(join(tmp, 'disk.ext4'), cache.artifactPath(A, 'disk.ext4'));
  await setLastUsed(cache, B, new Date('2021-01-01T00:00:00Z'));

  const listing = await cache.list();
  t.same(
    listing.entries.map((e) => e.digest),
    [A, B],
    'most recently used first',
  );
  const [a, b] = listing.entries;
  t.equal(a?.rootfsSize, 4096, 'recorded size, not a walk of the tree');
  t.equal(a?.size, 4096 + 1000, 'artifacts count');
  t.same(a?.refs.sort(), ['docker.io/library/alpine:3', 'docker.io/library/alpine:latest']);
  t.equal(a?.orphan, false);
  t.equal(a?.hasDisk, true);
  t.same(a?.artifacts, ['disk.ext4']);
  t.equal(b?.orphan, true);
  t.same(b?.refs, []);
  t.equal(b?.lastUsed.toISOString(), '2021-01-01T00:00:00.000Z');
  t.same(listing.layers, { count: 2, bytes: 1000, unused: 0 });
  t.same(listing.totals, { entries: 2, entryBytes: 5096 + 8192, layerBytes: 1000, bytes: 14288 });
});

t.test('artifact names are confined to the entry directory', async (t) => {
  const { cache } = await tempCache(t);
  for (const bad of ['../x', 'a/b', 'rootfs', 'meta.json', '.hidden', '']) {
    t.throws(() => cache.artifactPath(A, bad), { code: 'INVALID_ARTIFACT_NAME' }, bad);
  }
  t.equal(cache.artifactPath(A, 'disk.qcow2'), join(cache.entryPath(A), 'disk.qcow2'));
});

t.test('a damaged meta.json is reported, not served', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('alpine', { digest: A });
  await writeFile(join(cache.entryPath(A), 'meta.json'), '{"truncated');
  const err = (await cache.lookupRef('alpine').catch((e: unknown) => e)) as CacheCorruptError;
  t.type(err, CacheCorruptError);
  t.equal(err.code, 'CACHE_CORRUPT');
  t.match(err.message, /meta\.json/);
  const listing = await cache.list();
  t.equal(listing.entries[0]?.corrupt, true);
  const report = await cache.gc();
  t.ok(report.removed.some((r) => r.kind === 'entry' && r.id === A), 'gc removes the damaged entry');
  t.ok(report.removed.some((r) => r.kind === 'ref'), 'and the ref pointing at it');
  t.equal(await cache.lookupRef('alpine'), undefined);
});

t.test('ImageNotCachedError names the ref, the policy and the fix', async (t) => {
  const err = new ImageNotCachedError('docker.io/library/alpine:latest', 'never');
  t.equal(err.code, 'IMAGE_NOT_CACHED');
  t.equal(err.name, 'ImageNotCachedError');
  t.equal(
    err.message,
    'image docker.io/library/alpine:latest is not in the cache and the pull policy is never, which does not fetch it',
  );
});

t.test('leftovers of a crashed process are removed at the next open; live ones stay', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const child = new Child(`
    const cache = new Cache(${JSON.stringify(dir)});
    const tmp = await cacheWriter(cache).createTmpDir('rootfs');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(tmp + '/rootfs/deep/er', { recursive: true });
    await writeFile(tmp + '/rootfs/deep/er/file', 'partial');
    say('made ' + tmp);
    await next();
  `);
  t.teardown(() => child.kill());
  const leftover = (await child.waitFor(/^made /)).slice(5);
  const mine = await cacheWriter(cache).createTmpDir('rootfs');
  await new Cache(dir).init();
  t.ok(await lstat(leftover), 'a live process keeps its tmp dir');
  await child.kill();
  await new Cache(dir).init();
  await t.rejects(lstat(leftover), { code: 'ENOENT' }, 'removed once its owner is dead');
  t.ok(await lstat(mine), 'this process keeps its own');
  t.same(await readdir(join(dir, 'images')), [], 'nothing partial was ever published');
});

t.test('purge of a missing directory creates nothing', async (t) => {
  const base = await scratch(t);
  const report = await new Cache(join(base, 'none')).purge();
  t.same(report.removed, []);
  await t.rejects(stat(join(base, 'none')), { code: 'ENOENT' });
});

t.test('a cache dir where no directory can be made fails at once, naming the path', async (t) => {
  const base = await scratch(t);
  const file = join(base, 'a-file');
  await writeFile(file, 'not a directory');
  const cases: Array<[string, RegExp]> = [
    ['/proc/bbox-cache-test', /does not allow new directories \(ENOENT\)/],
    ['/proc/bbox-cache-test/deeper/still', /ENOENT at \/proc\/bbox-cache-test\b/],
    ['/sys/bbox-cache-test', /\((EPERM|EACCES|EROFS)\)/],
    [join(file, 'cache'), /a parent is not a directory \(ENOTDIR\)/],
    [join(file, 'deep', 'cache'), /ENOTDIR/],
  ];
  for (const [dir, why] of cases) {
    const err = (await new Cache(dir).init().catch((e: unknown) => e)) as CacheDirError;
    t.type(err, CacheDirError, dir);
    t.equal(err.code, 'CACHE_DIR_INVALID', dir);
    t.equal(err.dir, dir);
    t.match(err.message, `cache directory ${dir} cannot be created`);
    t.match(err.message, why);
    t.match(err.message, /another cache directory is needed/, 'says what is needed');
    t.equal(err.remedy, 'other-cache');
  }
  t.equal(await readFile(file, 'utf8'), 'not a directory', 'the file in the way is left alone');
});
