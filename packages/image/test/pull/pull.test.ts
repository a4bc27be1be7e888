import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildImage,
  buildIndex,
  makeLayer,
  pushImage,
  startProxy,
  startRegistry,
  tempDir,
  writeOciLayout,
  type Layer,
} from '@broodbox/testkit';
import { Cache, ImageNotCachedError, InvalidPullPolicyError, PinnedDigestMismatchError, pullWithFetcher } from '../../src/index.js';
import { cacheWriter } from '../../src/cache/writer.js';

const base = makeLayer([
  { path: 'etc/', type: 'dir' },
  { path: 'etc/os-release', type: 'file', content: 'ID=bboxtest\n' },
  { path: 'bin/', type: 'dir' },
  { path: 'bin/tool', type: 'file', mode: 0o755, content: '#!/bin/sh\necho tool\n' },
]);
const top = (v: string): Layer => makeLayer([{ path: 'app/', type: 'dir' }, { path: 'app/version', type: 'file', content: `${v}\n` }]);
const image = (v: string, layers: Layer[] = [base, top(v)]) => buildImage({ layers, config: { Cmd: ['/bin/tool'], Env: [`V=${v}`] } });

/** A real registry behind a counting proxy, and a fresh cache. */
async function setup(t: Test) {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const cache = new Cache(join(await tempDir(t, 'bbox-pull-'), 'cache'));
  const requests = () => proxy.requests.length;
  const manifestRequests = () => proxy.requests.filter((q) => /\/manifests\//.test(q.path)).map((q) => `${q.method} ${q.path}`);
  const blobGets = () => proxy.count({ method: 'GET', path: /\/blobs\// });
  return { reg, proxy, cache, requests, manifestRequests, blobGets, ref: `${proxy.host}/test/app:latest` };
}

const read = (p: string) => readFile(p, 'utf8');

t.test('if-not-present: a cold pull fetches every layer, a warm one makes no request', async (t) => {
  const s = await setup(t);
  const img = image('1');
  await pushImage(s.reg.url, 'test/app', img, { tag: 'latest' });
  const cold = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(cold.digest, img.digest);
  t.same(s.manifestRequests(), ['GET /v2/test/app/manifests/latest'], 'exactly one manifest request: a GET of the tag');
  t.equal(s.blobGets(), 3, 'then the config and the two layers, each once');
  t.equal(cold.fromCache, false);
  t.equal(cold.stats.layersFetched, 2);
  t.equal(cold.policy, 'if-not-present');
  t.equal(await read(join(cold.path, 'app/version')), '1\n');
  t.same(cold.config.config?.Env, ['V=1']);
  s.proxy.clear();
  const warm = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(warm.fromCache, true);
  t.equal(warm.path, cold.path);
  t.equal(s.requests(), 0, 'no request for a cached ref');
  t.equal(warm.stats.network, false);
});

t.test('always: an unchanged tag costs one manifest request and no blob; a new digest fetches only the new layer', async (t) => {
  const s = await setup(t);
  await pushImage(s.reg.url, 'test/app', image('1'), { tag: 'latest' });
  const first = await pullWithFetcher(s.ref, { cache: s.cache });
  s.proxy.clear();
  const same = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'always' });
  t.equal(s.requests(), 1, 'exactly one request');
  t.equal(s.proxy.count({ method: 'HEAD', path: /\/manifests\/latest$/ }), 1, 'and it is a HEAD of the tag');
  t.equal(same.digest, first.digest);
  t.equal(same.fromCache, true);
  t.equal(same.stats.unchanged, true);

  const v2 = image('2');
  await pushImage(s.reg.url, 'test/app', v2, { tag: 'latest' });
  s.proxy.clear();
  const moved = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'always' });
  t.equal(moved.digest, v2.digest);
  t.same(
    s.manifestRequests(),
    ['HEAD /v2/test/app/manifests/latest', `GET /v2/test/app/manifests/${v2.digest}`],
    'the HEAD, then the manifest it named by digest: the tag is not resolved twice',
  );
  t.equal(moved.fromCache, false);
  t.equal(moved.stats.layersFetched, 1, 'only the new top layer');
  t.equal(moved.stats.layersReused, 1, 'the base layer is reused');
  t.equal(moved.stats.bytesFetched, v2.layers[1]!.size);
  t.equal(s.proxy.count({ method: 'GET', path: new RegExp(v2.layers[0]!.digest) }), 0, 'base layer blob not requested');
  t.equal(await read(join(moved.path, 'app/version')), '2\n');
  t.equal(await read(join(first.path, 'app/version')), '1\n', 'the old entry is intact');
});

t.test('a registry whose HEAD sends no Docker-Content-Digest: always falls back to a GET of the tag', async (t) => {
  const s = await setup(t);
  const v1 = image('1');
  await pushImage(s.reg.url, 'test/app', v1, { tag: 'latest' });
  s.proxy.setFaults([{ method: 'HEAD', path: /\/manifests\//, every: true, fault: { kind: 'header', remove: ['docker-content-digest'] } }]);
  const cold = await pullWithFetcher(s.ref, { cache: s.cache });
  t.same([cold.digest, s.manifestRequests()], [v1.digest, ['GET /v2/test/app/manifests/latest']], 'a cold pull never needed the HEAD');
  s.proxy.clear();
  const same = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'always' });
  t.same([same.digest, same.stats.unchanged], [v1.digest, true], 'the digest comes from the body');
  t.same(s.manifestRequests(), ['HEAD /v2/test/app/manifests/latest', 'GET /v2/test/app/manifests/latest']);
  t.equal(s.blobGets(), 0, 'and no blob');
});

t.test('never: the cache or a clear error naming the ref and the policy', async (t) => {
  const s = await setup(t);
  await pushImage(s.reg.url, 'test/app', image('1'), { tag: 'latest' });
  const err = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'never' }).catch((e: unknown) => e);
  t.type(err, ImageNotCachedError);
  t.equal((err as ImageNotCachedError).code, 'IMAGE_NOT_CACHED');
  t.match((err as Error).message, `${s.proxy.host}/test/app:latest`);
  t.match((err as Error).message, /never/);
  t.equal(s.requests(), 0, 'never makes no request');
  await pullWithFetcher(s.ref, { cache: s.cache });
  s.proxy.clear();
  const hit = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'Never' });
  t.equal(hit.fromCache, true);
  t.equal(s.requests(), 0);
});

t.test("peers' spellings are aliases; anything else is refused with the list of values", async (t) => {
  const s = await setup(t);
  await pushImage(s.reg.url, 'test/app', image('1'), { tag: 'latest' });
  await pullWithFetcher(s.ref, { cache: s.cache });
  for (const alias of ['IfNotPresent', 'missing', 'ifnotpresent']) {
    const r = await pullWithFetcher(s.ref, { cache: s.cache, policy: alias });
    t.equal(r.policy, 'if-not-present', alias);
  }
  s.proxy.clear();
  const a = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'Always' });
  t.equal(a.policy, 'always');
  t.equal(s.requests(), 1);
  const err = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'sometimes' }).catch((e: unknown) => e);
  t.type(err, InvalidPullPolicyError);
  t.match((err as Error).message, /if-not-present, always, never, background, max-age/);
});

t.test('max-age: within the age no network; past it, one HEAD', async (t) => {
  const s = await setup(t);
  await pushImage(s.reg.url, 'test/app', image('1'), { tag: 'latest' });
  await pullWithFetcher(s.ref, { cache: s.cache });
  s.proxy.clear();
  const fresh = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.equal(s.requests(), 0, 'resolved within the hour: no request');
  t.equal(fresh.policy, 'max-age=1h');
  const stale = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=0s' });
  t.equal(s.requests(), 1, 'older than 0s: re-resolved with one request');
  t.equal(stale.stats.unchanged, true);
});

t.test('max-age: the age of the ref record decides between the cache and the registry', async (t) => {
  const s = await setup(t);
  const v1 = image('1');
  await pushImage(s.reg.url, 'test/app', v1, { tag: 'latest' });
  const cold = await pullWithFetcher(s.ref, { cache: s.cache });
  const HOUR = 3_600_000;
  await cacheWriter(s.cache).recordRef(s.ref, { digest: v1.digest, resolvedAt: Date.now() - 2 * HOUR });
  s.proxy.clear();
  const hits: Array<{ digest: string; network: boolean }> = [];
  const onProgress = (e: { type: string; digest?: string; network?: boolean }) => {
    if (e.type === 'cache-hit') hits.push({ digest: e.digest ?? '', network: e.network ?? true });
  };
  const young = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=3h', onProgress });
  t.same([young.digest, young.path, young.fromCache, young.stats.network], [v1.digest, cold.path, true, false], 'two hours old, allowed three: the cached entry');
  t.same(hits, [{ digest: v1.digest, network: false }], 'reported as a cache hit without network');
  t.equal(s.requests(), 0);

  const before = Date.now();
  const old = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.same(s.manifestRequests(), ['HEAD /v2/test/app/manifests/latest'], 'allowed one hour: one HEAD');
  t.same([old.digest, old.stats.unchanged, old.stats.network], [v1.digest, true, true]);
  t.ok((await s.cache.refRecord(s.ref))!.resolvedAt >= before, 'the confirmation renews the record');
  s.proxy.clear();
  await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.equal(s.requests(), 0, 'renewed: fresh again');

  const v2 = image('2');
  await pushImage(s.reg.url, 'test/app', v2, { tag: 'latest' });
  await cacheWriter(s.cache).recordRef(s.ref, { digest: v1.digest, resolvedAt: Date.now() - 2 * HOUR });
  const moved = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.same([moved.digest, moved.fromCache, moved.stats.network], [v2.digest, false, true], 'stale and moved: the new image');
  s.proxy.clear();
  const next = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'max-age=1h' });
  t.same([next.digest, s.requests()], [v2.digest, 0], 'the new image is served fresh from the cache');
});

t.test('background: the cached rootfs at once; the refresh updates the ref, a failed one keeps it', async (t) => {
  const s = await setup(t);
  const v1 = image('1');
  await pushImage(s.reg.url, 'test/app', v1, { tag: 'latest' });
  await pullWithFetcher(s.ref, { cache: s.cache });
  const v2 = image('2');
  await pushImage(s.reg.url, 'test/app', v2, { tag: 'latest' });
  const now = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'background' });
  t.equal(now.digest, v1.digest, 'served from the cache');
  const refreshed = await now.refresh;
  t.same({ ok: refreshed?.ok, digest: refreshed?.digest, changed: refreshed?.changed }, { ok: true, digest: v2.digest, changed: true });
  const next = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(next.digest, v2.digest, 'the next run sees the refreshed image');

  s.proxy.setFaults([{ path: /\/manifests\//, fault: { kind: 'status', status: 404 } }]);
  const again = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'background' });
  const failed = await again.refresh;
  t.equal(failed?.ok, false, 'refresh failed');
  t.ok(failed?.error);
  s.proxy.setFaults([]);
  s.proxy.clear();
  const kept = await pullWithFetcher(s.ref, { cache: s.cache, policy: 'never' });
  t.equal(kept.digest, v2.digest, 'a failed refresh keeps the ref and the entry');
  t.equal(s.requests(), 0);
});

t.test('a pinned digest: from the cache with no network whatever the policy; else fetched by digest', async (t) => {
  const s = await setup(t);
  const v1 = image('1');
  await pushImage(s.reg.url, 'test/app', v1, { tag: 'latest' });
  const pinnedRef = `${s.proxy.host}/test/app@${v1.digest}`;
  s.proxy.clear();
  const cold = await pullWithFetcher(pinnedRef, { cache: s.cache, policy: 'always' });
  t.equal(cold.digest, v1.digest);
  t.equal(s.proxy.count({ path: /\/manifests\/latest$/ }), 0, 'the tag is never consulted');
  t.ok(s.proxy.count({ method: 'GET', path: new RegExp(`/manifests/${v1.digest}$`) }) >= 1, 'fetched by digest');
  s.proxy.clear();
  const warm = await pullWithFetcher(pinnedRef, { cache: s.cache, policy: 'always' });
  t.equal(warm.fromCache, true);
  t.equal(s.requests(), 0, 'pinned and cached: no network even under always');
});

t.test('seed 002 regression: a stale tag mapping never satisfies a pinned pull', async (t) => {
  const s = await setup(t);
  const v1 = image('1');
  await pushImage(s.reg.url, 'test/app', v1, { tag: 'latest' });
  await pullWithFetcher(s.ref, { cache: s.cache });
  // The tag moves upstream; the local tag mapping still says v1.
  const v2 = image('2');
  await pushImage(s.reg.url, 'test/app', v2, { tag: 'latest' });
  const pinned = await pullWithFetcher(`${s.ref}@${v2.digest}`, { cache: s.cache, policy: 'if-not-present' });
  t.equal(pinned.digest, v2.digest, 'the pinned digest, not the stale tag mapping');
  t.equal(await read(join(pinned.path, 'app/version')), '2\n');
  const viaOption = await pullWithFetcher(s.ref, { cache: s.cache, digest: v1.digest });
  t.equal(viaOption.digest, v1.digest, 'the digest option pins too');
  t.equal((await pullWithFetcher(s.ref, { cache: s.cache, policy: 'never' })).digest, v1.digest, 'the tag mapping itself is untouched by pinned pulls');

  const v3 = image('3');
  await pushImage(s.reg.url, 'test/app', v3, { tag: 'v3' });
  const err = await pullWithFetcher(`${s.ref}@${v3.digest}`, { cache: s.cache, policy: 'never' }).catch((e: unknown) => e);
  t.type(err, ImageNotCachedError, 'never with a missing pinned digest is an error');
  const loose = await pullWithFetcher(`${s.ref}@${v3.digest}`, { cache: s.cache, forceOnPinnedDigest: false }).catch((e: unknown) => e);
  t.type(loose, PinnedDigestMismatchError, 'without forceOnPinnedDigest the stale tag answer is refused, not used');
});

t.test('layers are shared: a second image on the same base fetches only its own layer', async (t) => {
  const s = await setup(t);
  const a = image('a');
  const b = buildImage({ layers: [base, top('b'), makeLayer([{ path: 'app/extra', type: 'file', content: 'x' }])] });
  await pushImage(s.reg.url, 'test/a', a, { tag: 'latest' });
  await pushImage(s.reg.url, 'test/b', b, { tag: 'latest' });
  await pullWithFetcher(`${s.proxy.host}/test/a:latest`, { cache: s.cache });
  s.proxy.clear();
  const rb = await pullWithFetcher(`${s.proxy.host}/test/b:latest`, { cache: s.cache });
  t.equal(rb.stats.layersReused, 1);
  t.equal(rb.stats.layersFetched, 2);
  t.equal(s.proxy.count({ method: 'GET', path: new RegExp(base.digest) }), 0, 'the shared base blob is not fetched again');
  t.equal(s.blobGets(), 3, 'config + two own layers');
  t.equal(await read(join(rb.path, 'etc/os-release')), 'ID=bboxtest\n');
});

t.test('multi-platform index: the asked platform is chosen, and its index digest pins it', async (t) => {
  const s = await setup(t);
  const amd = buildImage({ layers: [top('amd64')], platform: { os: 'linux', architecture: 'amd64' } });
  const arm = buildImage({ layers: [top('arm64')], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  const idx = buildIndex([amd, arm]);
  await pushImage(s.reg.url, 'test/multi', idx, { tag: 'latest' });
  const ref = `${s.proxy.host}/test/multi:latest`;
  const r = await pullWithFetcher(ref, { cache: s.cache, platform: 'linux/arm64' });
  t.equal(r.digest, arm.digest);
  t.equal(await read(join(r.path, 'app/version')), 'arm64\n');
  s.proxy.clear();
  const byIndex = await pullWithFetcher(`${s.proxy.host}/test/multi@${idx.digest}`, { cache: s.cache, platform: 'linux/arm64' });
  t.equal(byIndex.digest, arm.digest);
  t.equal(s.requests(), 0, 'the index digest of a cached platform image needs no network');
  const other = await pullWithFetcher(ref, { cache: s.cache, platform: 'linux/amd64' });
  t.equal(other.digest, amd.digest, 'another platform is its own entry');
});

t.test('oci-layout: references pull from an OCI image layout directory', async (t) => {
  const dir = await tempDir(t, 'bbox-layout-');
  const cache = new Cache(join(dir, 'cache'));
  const img = image('layout');
  await writeOciLayout(join(dir, 'layout'), [{ tag: 'v1', image: img }]);
  const r = await pullWithFetcher(`oci-layout:${join(dir, 'layout')}:v1`, { cache });
  t.equal(r.digest, img.digest);
  t.equal(r.ref, `oci-layout:${join(dir, 'layout')}:v1`);
  t.equal(await read(join(r.path, 'app/version')), 'layout\n');
  const missing = await pullWithFetcher(`oci-layout:${join(dir, 'layout')}:nope`, { cache }).catch((e: unknown) => e);
  t.match((missing as Error).message, /nope is not in layout .* it holds v1/);
});
