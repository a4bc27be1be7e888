import t, { type Test } from 'tap';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageNotCachedError, pullWithFetcher } from '../../src/index.js';
import { EntryDamagedError } from '../../src/errors/cache-errors.js';
import { appImage, clockPast, setupRegistry } from './fixtures.js';

async function pulledAndSealed(t: Test) {
  const s = await setupRegistry(t);
  const img = appImage('1');
  await s.push(img);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  await clockPast(join(s.cache.entryPath(pulled.digest), 'summary.json'), join(s.dir, 'clock'));
  s.proxy.clear();
  return { ...s, img, pulled };
}

t.test('if-not-present: an entry damaged after publish is pulled again, not handed out', async (t) => {
  const s = await pulledAndSealed(t);
  await writeFile(join(s.pulled.path, 'etc/planted'), 'x');
  const again = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(again.stats.network, true, 'the damaged entry was not served: the ref was resolved again');
  t.equal(again.digest, s.pulled.digest);
  t.same([again.stats.layersFetched, again.stats.layersReused], [0, 2], 'its layers were intact, so only the rootfs is made again');
  t.equal(s.proxy.count({ path: /\/manifests\// }), 1, 'one manifest request');
  await t.rejects(readFile(join(again.path, 'etc/planted')), { code: 'ENOENT' }, 'the new tree is clean');
  t.equal((await s.cache.verify()).damaged, 0);
  s.proxy.clear();
  const warm = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(warm.fromCache, true, 'the new entry is served from the cache again');
  t.equal(s.proxy.requests.length, 0);
});

t.test('max-age: an entry damaged under a fresh ref record is pulled again, not handed out', async (t) => {
  const s = await pulledAndSealed(t);
  await writeFile(join(s.pulled.path, 'etc/planted'), 'x');
  const again = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.equal(again.stats.network, true, 'the record was fresh, but the damaged entry was not served');
  t.equal(again.digest, s.pulled.digest);
  t.same([again.stats.layersFetched, again.stats.layersReused], [0, 2], 'made again from the intact layers');
  await t.rejects(readFile(join(again.path, 'etc/planted')), { code: 'ENOENT' }, 'the new tree is clean');
  s.proxy.clear();
  const warm = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.same([warm.fromCache, s.proxy.requests.length], [true, 0], 'then served from the cache again');
});

t.test('a write through the rootfs into the layer store is repaired before the entry is rebuilt', async (t) => {
  const s = await pulledAndSealed(t);
  // Editing in place changes the store file; removing a file next to it breaks the seal.
  await writeFile(join(s.pulled.path, 'etc/passwd'), 'evil::0:0::/:/bin/sh\n');
  await writeFile(join(s.pulled.path, 'etc/passwd-'), 'backup');
  const again = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(again.fromCache, false);
  t.same([again.stats.layersFetched, again.stats.layersReused], [1, 1], 'the damaged base layer was fetched again');
  t.equal(s.proxy.count({ method: 'GET', path: new RegExp(s.img.layers[0]!.digest) }), 1);
  t.equal(await readFile(join(again.path, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  t.equal((await s.cache.verify()).damaged, 0);
});

t.test('never: a damaged entry counts as not cached', async (t) => {
  const s = await pulledAndSealed(t);
  await writeFile(join(s.pulled.path, 'planted'), 'x');
  await t.rejects(pullWithFetcher(s.ref, { cache: s.cache, policy: 'never' }), ImageNotCachedError);
  t.equal(await s.cache.hasEntry(s.pulled.digest), false, 'the damaged entry was removed');
  t.equal(s.proxy.requests.length, 0);
});

t.test('a seal broken without damage is checked in full once, then the entry is served cheaply again', async (t) => {
  const s = await pulledAndSealed(t);
  const summary = join(s.cache.entryPath(s.pulled.digest), 'summary.json');
  const before = await readFile(summary, 'utf8');
  await chmod(join(s.pulled.path, 'etc'), 0o755); // same mode: only the ctime moves
  const hit = await s.cache.lookupRef(s.ref);
  t.equal(hit?.path, s.pulled.path, 'the intact entry is served');
  t.equal(await readFile(summary, 'utf8'), before, 'the summary is unchanged');
  const got = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(got.fromCache, true);
  t.equal(s.proxy.requests.length, 0);
});

t.test('a damaged entry that a running process holds is refused with a clear error', async (t) => {
  const s = await pulledAndSealed(t);
  const release = await s.cache.hold(s.pulled.digest);
  t.teardown(release);
  await writeFile(join(s.pulled.path, 'etc/planted'), 'x');
  const err = await s.cache.lookupRef(s.ref).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, EntryDamagedError);
  t.match((err as Error).message, /extra etc\/planted/);
  t.match((err as Error).message, /repairing the cache and pulling again clears it/);
  t.equal((err as EntryDamagedError).remedy, 'repair');
  t.equal(await s.cache.hasEntry(s.pulled.digest), true, 'a held entry is not removed');
  await release();
  t.equal(await s.cache.lookupRef(s.ref), undefined, 'once released it is removed and reported missing');
});
