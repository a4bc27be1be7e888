import t from 'tap';
import { chmod, lstat, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from '../../src/cache/cache.js';
import { CacheCorruptError, EntryNotFoundError, InvalidDigestError } from '../../src/errors/cache-errors.js';
import { fakeDigest, publishFake, setLastUsed, tempCache } from './fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

// peek: a read of what get would answer, without side effects. prepareRef: recordRef in two steps.

const A = fakeDigest('peek-a');
const B = fakeDigest('peek-b');
const INDEX = fakeDigest('peek-index');
const OLD = new Date('2020-01-01T00:00:00Z');

async function lastUsed(cache: Cache, digest: string): Promise<number> {
  return (await stat(join(cache.entryPath(digest), 'last-used'))).mtimeMs;
}

/** Moves the rootfs root's ctime past the seal (a coarse clock may need more than one change). */
async function breakSeal(cache: Cache, digest: string): Promise<void> {
  const seal = (await lstat(join(cache.entryPath(digest), 'summary.json'))).ctimeMs;
  const root = cache.rootfsPath(digest);
  for (let mode = 0o750; (await lstat(root)).ctimeMs <= seal; mode ^= 0o005) await chmod(root, mode);
}

t.test('peek answers what get would, without marking the entry as used', async (t) => {
  const { cache } = await tempCache(t);
  t.equal(await cache.peek(A), undefined, 'not cached');
  t.equal(await cache.peek('sha256:short'), undefined, 'a malformed digest is simply not cached');
  await publishFake(cache, { digest: A, files: { 'etc/hostname': 'a' } });
  await setLastUsed(cache, A, OLD);
  const seen = await cache.peek(A);
  t.same(seen, await cache.get(A), 'the same answer as get');
  t.match(seen, { path: cache.rootfsPath(A), digest: A, ref: A, fromCache: true });
  await setLastUsed(cache, A, OLD);
  await cache.peek(A);
  t.equal(await lastUsed(cache, A), OLD.getTime(), 'peek left the LRU clock alone');
  await cache.touch(A);
  t.ok((await lastUsed(cache, A)) > OLD.getTime(), 'touch marks the entry peeked at');
});

t.test('peek follows the alias of an index digest for the asked platform only', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A, topDigest: INDEX });
  await cacheWriter(cache).recordRef('multi', { digest: A, topDigest: INDEX, platform: 'linux/amd64' });
  await setLastUsed(cache, A, OLD);
  t.match(await cache.peek(INDEX, { platform: 'linux/amd64' }), { digest: A, ref: INDEX, path: cache.rootfsPath(A) });
  t.equal(await cache.peek(INDEX, { platform: 'linux/arm64' }), undefined);
  t.equal(await lastUsed(cache, A), OLD.getTime());
});

t.test('a moved seal makes peek unsure, and nothing is checked or removed', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A, summary: { files: 1 } });
  t.not(await cache.peek(A), 'unsure', 'a sealed, untouched entry is a plain answer');
  await writeFile(join(cache.rootfsPath(A), 'added'), 'x');
  await breakSeal(cache, A);
  await setLastUsed(cache, A, OLD);
  t.equal(await cache.peek(A), 'unsure');
  t.equal(await cache.hasEntry(A), true, 'the entry is still there');
  t.same((await readdir(cache.rootfsPath(A))).sort(), ['added', 'etc']);
  t.equal(await lastUsed(cache, A), OLD.getTime());
});

t.test('peek reports a damaged meta.json as get does', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await writeFile(join(cache.entryPath(A), 'meta.json'), '{"truncated');
  await t.rejects(cache.peek(A), CacheCorruptError);
});

t.test('prepareRef: nothing changes until commit; commit records the ref and the alias', async (t) => {
  const { cache, dir } = await tempCache(t);
  await publishFake(cache, { digest: A, topDigest: INDEX });
  const draft = await cacheWriter(cache).prepareRef('app:1', { digest: A, topDigest: INDEX, platform: 'linux/amd64', resolvedAt: 1_700_000_000_000 });
  t.same(draft.record, {
    ref: 'docker.io/library/app:1',
    platform: 'linux/amd64',
    digest: A,
    topDigest: INDEX,
    resolvedAt: 1_700_000_000_000,
  });
  t.equal(await cache.refRecord('app:1', 'linux/amd64'), undefined, 'not visible before commit');
  t.equal(await cache.get(INDEX, { platform: 'linux/amd64' }), undefined, 'no alias before commit');
  t.same(await cache.refRecord('app:1', 'linux/amd64'), undefined);
  t.same(await draft.commit(), draft.record);
  t.same(await cache.refRecord('app:1', 'linux/amd64'), draft.record);
  t.equal((await cache.lookupRef('app:1', { platform: 'linux/amd64' }))?.digest, A);
  t.equal((await cache.get(INDEX, { platform: 'linux/amd64' }))?.digest, A, 'the alias was recorded');
  t.same(await readdir(join(dir, 'tmp')), [], 'no temporary file is left');
});

t.test('prepareRef: discard leaves the ref where it was', async (t) => {
  const { cache, dir } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await publishFake(cache, { digest: B });
  const before = await cacheWriter(cache).recordRef('app', { digest: A });
  const draft = await cacheWriter(cache).prepareRef('app', { digest: B });
  t.ok(draft.record.resolvedAt >= before.resolvedAt, 'resolved now by default');
  await draft.discard();
  t.same(await cache.refRecord('app'), before);
  t.same(await readdir(join(dir, 'tmp')), []);
});

t.test('prepareRef: commit refuses a missing entry and leaves the ref as it was', async (t) => {
  const { cache, dir } = await tempCache(t);
  await publishFake(cache, { digest: A });
  const before = await cacheWriter(cache).recordRef('app', { digest: A });
  const draft = await cacheWriter(cache).prepareRef('app', { digest: B });
  const err = (await draft.commit().catch((e: unknown) => e)) as EntryNotFoundError;
  t.type(err, EntryNotFoundError);
  t.equal(err.digest, B);
  t.match(err.message, 'docker.io/library/app:latest');
  t.same(await cache.refRecord('app'), before);
  t.same(await readdir(join(dir, 'tmp')), [], 'the prepared record was dropped');
});

t.test('prepareRef refuses malformed digests before writing anything', async (t) => {
  const { cache, dir } = await tempCache(t);
  await t.rejects(cacheWriter(cache).prepareRef('app', { digest: 'sha256:nope' }), InvalidDigestError);
  await t.rejects(cacheWriter(cache).prepareRef('app', { digest: A, topDigest: 'md5:x' }), { code: 'INVALID_DIGEST', message: /top digest/ });
  t.same(await readdir(join(dir, 'tmp')), []);
});
