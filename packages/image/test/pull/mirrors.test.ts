import t, { type Test } from 'tap';
import { join } from 'node:path';
import { buildImage, makeLayer, pushImage, startProxy, startRegistry, tempDir } from '@broodbox/testkit';
import { Cache, pullWithFetcher } from '../../src/index.js';

/**
 * Two real distribution instances: an upstream, and a proxy-mode (pull-through) mirror in front of
 * it, each behind a counting proxy so the test sees who served what.
 */
async function setup(t: Test) {
  const upstream = await startRegistry();
  t.teardown(() => upstream.stop());
  const up = await startProxy({ target: upstream.url });
  t.teardown(() => up.stop());
  const mirrorReg = await startRegistry({ proxy: { remoteurl: up.url } });
  t.teardown(() => mirrorReg.stop());
  const mirror = await startProxy({ target: mirrorReg.url });
  t.teardown(() => mirror.stop());
  const img = buildImage({
    layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/hello', type: 'file', content: 'hello\n' }])],
    config: { Cmd: ['/bin/sh'] },
  });
  await pushImage(upstream.url, 'lib/app', img, { tag: 'latest' });
  up.clear();
  const dir = await tempDir(t, 'bbox-mirror-');
  let n = 0;
  const freshCache = () => new Cache(join(dir, `cache-${n++}`));
  const ref = `${up.host}/lib/app:latest`;
  return { upstream, up, mirrorReg, mirror, img, freshCache, ref };
}

t.test('pulls go through the mirror; a second host is served from it without touching the upstream', async (t) => {
  const s = await setup(t);
  const registries = { [s.up.host]: { mirrors: [s.mirror.url] } };
  const first = await pullWithFetcher(s.ref, { cache: s.freshCache(), registries });
  t.equal(first.digest, s.img.digest);
  t.ok(s.mirror.count({ path: /\/blobs\// }) > 0, 'blobs came from the mirror');
  t.ok(s.mirror.requests.every((r) => new URLSearchParams(r.query).get('ns') === s.up.host), 'every mirror request names the upstream (?ns=)');
  s.up.clear();
  s.mirror.clear();
  const second = await pullWithFetcher(s.ref, { cache: s.freshCache(), registries });
  t.equal(second.digest, s.img.digest);
  t.equal(s.up.count({ path: /\/blobs\// }), 0, 'the warm mirror served every blob: none fetched upstream');
  t.ok(s.mirror.count({ path: /\/blobs\// }) > 0);
});

t.test('a stopped mirror falls through to the upstream; with fallback: false it is a clear error', async (t) => {
  const s = await setup(t);
  await s.mirror.stop();
  const r = await pullWithFetcher(s.ref, { cache: s.freshCache(), registries: { [s.up.host]: { mirrors: [s.mirror.url] } } });
  t.equal(r.digest, s.img.digest);
  t.ok(s.up.count({ path: /\/blobs\// }) > 0, 'served by the upstream');
  const err = await pullWithFetcher(s.ref, {
    cache: s.freshCache(),
    registries: { [s.up.host]: { mirrors: [s.mirror.url], fallback: false } },
  }).catch((e: unknown) => e);
  t.ok(err instanceof Error, 'fails');
  t.match((err as Error & { code?: string }).code, /REGISTRY_UNAVAILABLE/);
  t.match((err as Error).message, s.mirror.host, 'the error names the mirror that failed');
});

t.test('noRegistryCache reaches the upstream only', async (t) => {
  const s = await setup(t);
  const r = await pullWithFetcher(s.ref, {
    cache: s.freshCache(),
    registries: { [s.up.host]: { mirrors: [s.mirror.url] } },
    noRegistryCache: true,
  });
  t.equal(r.digest, s.img.digest);
  t.equal(s.mirror.requests.length, 0, 'the mirror saw nothing');
  t.ok(s.up.count({ path: /\/blobs\// }) > 0);
});

t.test('resolve: false resolves tags upstream and fetches content from the mirror', async (t) => {
  const s = await setup(t);
  const r = await pullWithFetcher(s.ref, {
    cache: s.freshCache(),
    registries: { [s.up.host]: { mirrors: [{ url: s.mirror.url, resolve: false }] } },
  });
  t.equal(r.digest, s.img.digest);
  t.equal(s.mirror.count({ path: /\/manifests\/latest$/ }), 0, 'the mirror is never asked for the tag');
  t.ok(s.mirror.count({ path: /\/blobs\// }) > 0, 'blobs from the mirror');
  const upstreamDirect = s.up.requests.filter((q) => /\/manifests\/latest$/.test(q.path));
  t.ok(upstreamDirect.length >= 1, 'the tag was resolved upstream');
});
