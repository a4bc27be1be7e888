import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError } from '../../src/errors/cache-errors.js';
import { platformKey, refFile } from '../../src/cache/ref-index.js';
import { CacheLayout } from '../../src/cache/layout.js';
import { fakeDigest, publishFake, tempCache } from './fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

const A = fakeDigest('a');
const B = fakeDigest('b');
const INDEX = fakeDigest('index');

t.test('platform keys are normalised', async (t) => {
  t.equal(platformKey('linux/amd64'), 'linux/amd64');
  t.equal(platformKey('Linux/X86_64'), 'linux/amd64');
  t.equal(platformKey('linux/arm64/v8'), 'linux/arm64');
  t.equal(platformKey({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  t.match(platformKey(undefined), /^linux\//, 'default: the host');
});

t.test('a record holds the normalised ref, platform, digests and resolution time', async (t) => {
  const { cache, dir } = await tempCache(t);
  await publishFake(cache, { digest: A, topDigest: INDEX });
  const before = Date.now();
  await cacheWriter(cache).recordRef('alpine', { digest: A, topDigest: INDEX, platform: 'linux/amd64' });
  const rec = await cache.refRecord('docker.io/library/alpine:latest', 'linux/amd64');
  t.match(rec, { ref: 'docker.io/library/alpine:latest', platform: 'linux/amd64', digest: A, topDigest: INDEX });
  t.ok(rec!.resolvedAt >= before - 1000 && rec!.resolvedAt <= Date.now() + 1000);
  const file = refFile(new CacheLayout(dir), 'docker.io/library/alpine:latest', 'linux/amd64');
  t.match(JSON.parse(await readFile(file, 'utf8')), { ref: 'docker.io/library/alpine:latest', resolvedAt: /^\d{4}-\d\d-\d\dT/ });
  t.same((await readdir(join(dir, 'refs'))).filter((n) => !n.endsWith('.json')), [], 'no temporary files beside records');
  t.same(await readdir(join(dir, 'tmp')), [], 'nor in tmp/');
});

t.test('recording again moves the ref and its resolution time', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await publishFake(cache, { digest: B });
  await cacheWriter(cache).recordRef('app', { digest: A, resolvedAt: 1_000 });
  t.equal((await cache.refRecord('app'))?.resolvedAt, 1_000);
  await cacheWriter(cache).recordRef('app', { digest: B });
  const rec = await cache.refRecord('app');
  t.equal(rec?.digest, B);
  t.ok(rec!.resolvedAt > 1_000);
  t.equal((await cache.lookupRef('app'))?.digest, B);
});

t.test('removeRef forgets one platform of a ref', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('app', { digest: A, platform: 'linux/amd64' });
  await cacheWriter(cache).recordRef('app', { digest: A, platform: 'linux/arm64' });
  t.equal(await cache.removeRef('app', 'linux/arm64'), true);
  t.equal(await cache.removeRef('app', 'linux/arm64'), false);
  t.equal(await cache.lookupRef('app', { platform: 'linux/arm64' }), undefined);
  t.equal((await cache.lookupRef('app', { platform: 'linux/amd64' }))?.digest, A);
});

t.test('a ref whose entry is gone is a miss, and gc drops it', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('app', { digest: A });
  const { rm } = await import('node:fs/promises');
  await rm(cache.entryPath(A), { recursive: true });
  t.equal(await cache.lookupRef('app'), undefined);
  const report = await cache.gc();
  t.same(report.removed.filter((r) => r.kind === 'ref').map((r) => r.id), ['docker.io/library/app:latest (linux/amd64)']);
  t.equal(await cache.refRecord('app'), undefined);
});

t.test('a record file holding another ref is not served; a malformed one is reported', async (t) => {
  const { cache, dir } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef('app', { digest: A });
  const layout = new CacheLayout(dir);
  const appFile = refFile(layout, 'docker.io/library/app:latest', 'linux/amd64');
  const otherFile = refFile(layout, 'docker.io/library/other:latest', 'linux/amd64');
  await writeFile(otherFile, await readFile(appFile));
  t.equal(await cache.lookupRef('other'), undefined);
  await writeFile(appFile, '{"ref": 1}');
  await t.rejects(cache.lookupRef('app'), CacheCorruptError);
});

t.test('refs are recorded for by-digest pins and keep their entry from gc', async (t) => {
  const { cache } = await tempCache(t);
  await publishFake(cache, { digest: A });
  await cacheWriter(cache).recordRef({ registry: 'docker.io', repository: 'library/app', digest: A }, { digest: A });
  const listing = await cache.list();
  t.same(listing.entries[0]?.refs, [`docker.io/library/app@${A}`]);
  t.same((await cache.gc()).removed, []);
});
