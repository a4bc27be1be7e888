import t from 'tap';
import { createHash } from 'node:crypto';
import { pushImage, startProxy, startRegistry, tamperBlob } from '@broodbox/testkit';
import { RegistryClient, DigestMismatchError, type RequestEvent } from '../../src/index.js';
import { bulkyLayer, digestStream, multiArch, smallImage, until } from '../fixtures.js';

const reg = await startRegistry();
t.teardown(() => reg.stop());
const img = smallImage();
await pushImage(reg.url, 'test/single', img, { tag: 'v1' });
const idx = multiArch();
await pushImage(reg.url, 'test/multi', idx, { tag: 'latest' });
const dockerIdx = multiArch(true);
await pushImage(reg.url, 'test/dockerlist', dockerIdx, { tag: 'v2' });

t.test('resolves a single-platform image anonymously over plain HTTP on loopback', async (t) => {
  const events: RequestEvent[] = [];
  const client = new RegistryClient({ onRequest: (e) => events.push(e) });
  t.teardown(() => client.close());
  const r = await client.resolve(`${reg.host}/test/single:v1`, { platform: 'linux/amd64' });
  t.equal(r.digest, img.digest);
  t.equal(r.topDigest, img.digest);
  t.equal(r.mediaType, img.mediaType);
  t.ok(r.manifestBytes.equals(img.manifestBytes));
  t.ok(r.configBytes.equals(img.configBytes));
  t.same(r.config.rootfs.diff_ids, img.config.rootfs.diff_ids);
  t.same(r.config.config?.Cmd, ['/bin/tool']);
  t.equal(r.ref.repository, 'test/single');
  t.equal(r.endpoint, reg.url);
  t.ok(events.every((e) => e.url.startsWith('http://127.0.0.1')), 'plain http to loopback');
  const h = await client.head(`${reg.host}/test/single:v1`);
  t.same(h, { digest: img.digest, mediaType: img.mediaType, size: img.manifestBytes.length, endpoint: reg.url });
  const m = await client.getManifest(`${reg.host}/test/single@${img.digest}`);
  t.equal(m.kind, 'manifest');
  t.equal(createHash('sha256').update(m.bytes).digest('hex'), img.digest.slice(7));
});

t.test('streams every layer verified, with progress', async (t) => {
  const client = new RegistryClient();
  t.teardown(() => client.close());
  for (const layer of img.manifest.layers) {
    const seen: number[] = [];
    const s = await client.openBlob(`${reg.host}/test/single`, layer, { onProgress: (p) => seen.push(p.done) });
    const got = await digestStream(s);
    t.same(got, { digest: layer.digest, size: layer.size });
    t.equal(seen[seen.length - 1], layer.size, 'progress reaches the total');
    t.ok(seen.every((v, i) => i === 0 || v >= (seen[i - 1] ?? 0)), 'progress never goes back');
  }
  const cfg = await client.getBlob(`${reg.host}/test/single`, img.manifest.config);
  t.ok(cfg.equals(img.configBytes));
  await t.rejects(client.getBlob(`${reg.host}/test/single`, img.manifest.config, { maxSize: 10 }), { code: 'TOO_LARGE' });
});

t.test('selects the platform from an index (OCI and Docker manifest list)', async (t) => {
  const client = new RegistryClient();
  t.teardown(() => client.close());
  for (const [repo, tag, index] of [['test/multi', 'latest', idx], ['test/dockerlist', 'v2', dockerIdx]] as const) {
    const ref = `${reg.host}/${repo}:${tag}`;
    const arm64 = await client.resolve(ref, { platform: 'linux/arm64' });
    t.equal(arm64.topDigest, index.digest, 'topDigest is what the tag points at');
    t.equal(arm64.digest, index.images[1]?.digest);
    t.equal(arm64.config.architecture, 'arm64');
    const armv8 = await client.resolve(ref, { platform: 'linux/arm64/v8' });
    t.equal(armv8.digest, index.images[1]?.digest);
    const amd = await client.resolve(ref, { platform: { os: 'linux', architecture: 'amd64' } });
    t.equal(amd.digest, index.images[0]?.digest);
    const arm = await client.resolve(ref, { platform: 'linux/arm/v7' });
    t.equal(arm.digest, index.images[2]?.digest);
    await t.rejects(client.resolve(ref, { platform: 'linux/s390x' }), {
      code: 'PLATFORM_NOT_FOUND',
      message: /linux\/s390x.*linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7/,
    });
  }
  const byDigest = await client.resolve(`${reg.host}/test/multi@${idx.digest}`, { platform: 'linux/arm/v7' });
  t.equal(byDigest.topDigest, idx.digest);
  t.equal(byDigest.digest, idx.images[2]?.digest);
  await t.rejects(client.resolve(`${reg.host}/test/single:v1`, { platform: 'linux/arm64' }), { code: 'PLATFORM_NOT_FOUND', message: /linux\/amd64/ }, 'single-arch image of another platform');
});

t.test('resolves a tag with one GET of the tag; head is one HEAD, falling back to GET without Docker-Content-Digest', async (t) => {
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient();
  t.teardown(() => client.close());
  const ref = `${proxy.host}/test/single:v1`;
  const r = await client.resolve(ref, { platform: 'linux/amd64' });
  t.equal(r.digest, img.digest);
  t.equal(r.topDigest, img.digest);
  t.equal(proxy.count({ path: /\/manifests\// }), 1, 'exactly one manifest request');
  t.equal(proxy.count({ method: 'GET', path: '/v2/test/single/manifests/v1' }), 1, 'and it is a GET of the tag');
  t.equal(proxy.count({ method: 'GET', path: /\/blobs\// }), 1, 'then only the config blob');
  proxy.clear();
  const h = await client.head(ref);
  t.equal(h.digest, img.digest);
  t.equal(proxy.count(), 1, 'head alone is one request');
  t.equal(proxy.count({ method: 'HEAD', path: '/v2/test/single/manifests/v1' }), 1, 'a HEAD of the tag');

  proxy.clear();
  proxy.setFaults([{ path: /manifests/, every: true, fault: { kind: 'header', remove: ['docker-content-digest'] } }]);
  const h2 = await client.head(ref);
  t.equal(h2.digest, img.digest, 'digest computed from the GET body');
  t.equal(proxy.count({ method: 'GET', path: '/v2/test/single/manifests/v1' }), 1, 'GET fallback');
  proxy.clear();
  const r2 = await client.resolve(ref, { platform: 'linux/amd64' });
  t.equal(r2.digest, img.digest, 'without the header the digest is the body\'s sha256');
  t.equal(proxy.count({ path: /\/manifests\// }), 1, 'still one manifest request');
});

t.test('a multi-platform tag: one GET of the tag, then the platform manifest by digest', async (t) => {
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient();
  t.teardown(() => client.close());
  const r = await client.resolve(`${proxy.host}/test/multi:latest`, { platform: 'linux/arm64' });
  t.equal(r.topDigest, idx.digest);
  t.equal(r.digest, idx.images[1]?.digest);
  t.same(
    proxy.requests.filter((q) => /\/manifests\//.test(q.path)).map((q) => `${q.method} ${q.path}`),
    ['GET /v2/test/multi/manifests/latest', `GET /v2/test/multi/manifests/${idx.images[1]?.digest}`],
  );
});

t.test('manifests are verified: by digest, and by tag against Docker-Content-Digest', async (t) => {
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient({ retries: 0 });
  t.teardown(() => client.close());
  proxy.setFaults([{ method: 'GET', path: /manifests\/sha256/, every: true, fault: { kind: 'corrupt', offset: 5 } }]);
  await t.rejects(client.getManifest(`${proxy.host}/test/single@${img.digest}`), { code: 'DIGEST_MISMATCH', expected: img.digest });
  await t.rejects(client.resolve(`${proxy.host}/test/single@${img.digest}`, { platform: 'linux/amd64' }), { code: 'DIGEST_MISMATCH' });
  proxy.setFaults([{ method: 'GET', path: /manifests\/v1$/, every: true, fault: { kind: 'corrupt', offset: 5 } }]);
  await t.rejects(
    client.resolve(`${proxy.host}/test/single:v1`, { platform: 'linux/amd64' }),
    { code: 'DIGEST_MISMATCH', expected: img.digest },
    'a tag body that does not hash to Docker-Content-Digest is refused',
  );
  const other = 'sha256:' + 'e'.repeat(64);
  proxy.setFaults([{ method: 'GET', path: /manifests\/v1$/, every: true, fault: { kind: 'header', set: { 'docker-content-digest': other } } }]);
  await t.rejects(client.getManifest(`${proxy.host}/test/single:v1`), { code: 'DIGEST_MISMATCH', expected: other, actual: img.digest });
  proxy.setFaults([{ method: 'GET', path: /manifests/, every: true, fault: { kind: 'header', set: { 'content-length': String(5 * 1024 * 1024) } } }]);
  await t.rejects(client.getManifest(`${proxy.host}/test/single:v1`), { code: 'TOO_LARGE', message: /4194304-byte limit/ }, 'manifest size cap');
});

t.test('unknown manifests and blobs name the registry and repository', async (t) => {
  const client = new RegistryClient({ retries: 0 });
  t.teardown(() => client.close());
  await t.rejects(client.resolve(`${reg.host}/test/single:nope`), { code: 'MANIFEST_UNKNOWN', message: new RegExp(`nope.*${reg.host}/test/single`) });
  await t.rejects(client.head(`${reg.host}/test/absent:v1`), { code: 'MANIFEST_UNKNOWN' });
  const missing = { mediaType: 'application/octet-stream', digest: 'sha256:' + 'f'.repeat(64), size: 3 };
  await t.rejects(client.openBlob(`${reg.host}/test/single`, missing), { code: 'BLOB_UNKNOWN', message: /test\/single/ });
});

t.test('a blob tampered in the registry storage fails with DIGEST_MISMATCH and never ends cleanly', async (t) => {
  const own = await startRegistry();
  t.teardown(() => own.stop());
  const victim = smallImage();
  await pushImage(own.url, 'tamper/me', victim, { tag: 'v1' });
  const layer = victim.manifest.layers[1];
  if (!layer) throw new Error('fixture has two layers');
  await tamperBlob(own.dataDir, layer.digest);
  const client = new RegistryClient();
  t.teardown(() => client.close());
  const s = await client.openBlob(`${own.host}/tamper/me`, layer);
  let ended = false;
  s.on('end', () => (ended = true));
  const err = await digestStream(s).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof DigestMismatchError, 'stream errored with DigestMismatchError');
  t.match(err, { code: 'DIGEST_MISMATCH', expected: layer.digest, registry: own.host, repository: 'tamper/me' });
  t.notOk(ended, 'no end event for bad data');
  await tamperBlob(own.dataDir, victim.configDigest);
  await t.rejects(client.resolve(`${own.host}/tamper/me:v1`, { platform: 'linux/amd64' }), { code: 'DIGEST_MISMATCH' }, 'config is verified too');
});

t.test('a download cut mid-stream resumes with Range', async (t) => {
  const big = smallImage({ os: 'linux', architecture: 'amd64' }, [bulkyLayer(3 * 1024 * 1024)]);
  await pushImage(reg.url, 'test/big', big, { tag: 'v1' });
  const layer = big.manifest.layers[2];
  if (!layer) throw new Error('fixture has three layers');
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient({ timeoutMs: 1000 });
  t.teardown(() => client.close());
  const blobPath = `/v2/test/big/blobs/${layer.digest}`;
  const cases = [
    { name: 'reset', fault: { kind: 'reset', afterBytes: 1_000_000 } },
    { name: 'short', fault: { kind: 'short', afterBytes: 700_001 } },
    { name: 'stall', fault: { kind: 'stall', afterBytes: 1_500_000 } },
  ] as const;
  for (const c of cases) {
    proxy.clear();
    proxy.setFaults([{ method: 'GET', path: blobPath, nth: 1, fault: c.fault }]);
    const s = await client.openBlob(`${proxy.host}/test/big`, layer);
    const got = await digestStream(s);
    t.same(got, { digest: layer.digest, size: layer.size }, `${c.name}: whole, verified blob`);
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path === blobPath);
    t.equal(gets.length, 2, `${c.name}: one resumed request`);
    const cut = gets[0]?.bytesOut ?? 0;
    t.ok(cut > 0 && cut < layer.size, `${c.name}: first response was cut (${cut} bytes sent)`);
    // A reset discards bytes still in flight, so the client may have received fewer than were sent.
    const from = Number(/^bytes=(\d+)-$/.exec(String(gets[1]?.headers.range))?.[1]);
    t.ok(from > 0 && from <= cut, `${c.name}: resumed from the bytes received (${gets[1]?.headers.range})`);
    if (c.name !== 'reset') t.equal(from, cut, `${c.name}: exactly where it stopped`);
    t.equal(gets[1]?.status, 206);
  }
});

t.test('retries 503 and 429, honouring Retry-After', async (t) => {
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient({ retryBaseMs: 20 });
  t.teardown(() => client.close());
  const ref = `${proxy.host}/test/single:v1`;
  proxy.setFaults([{ method: 'HEAD', path: /manifests\/v1$/, nth: 1, times: 2, fault: { kind: 'status', status: 503 } }]);
  t.equal((await client.head(ref)).digest, img.digest);
  t.equal(proxy.count({ method: 'HEAD' }), 3, 'two 503s, then success');

  proxy.clear();
  proxy.setFaults([{ method: 'HEAD', path: /manifests\/v1$/, nth: 1, fault: { kind: 'status', status: 429, retryAfter: 1 } }]);
  const started = Date.now();
  t.equal((await client.head(ref)).digest, img.digest);
  t.ok(Date.now() - started >= 950, `waited for Retry-After (${Date.now() - started} ms)`);
  t.equal(proxy.count({ method: 'HEAD', status: 429 }), 1);

  proxy.clear();
  proxy.setFaults([{ method: 'GET', path: /blobs/, nth: 1, fault: { kind: 'reset' } }]);
  const cfg = await client.getBlob(ref, img.manifest.config);
  t.ok(cfg.equals(img.configBytes), 'a reset before the response is retried');

  proxy.setFaults([{ method: 'HEAD', every: true, fault: { kind: 'status', status: 503 } }]);
  const few = new RegistryClient({ retries: 1, retryBaseMs: 10 });
  t.teardown(() => few.close());
  await t.rejects(few.head(ref), { code: 'REGISTRY_UNAVAILABLE', message: new RegExp(`${proxy.url}: .*503`) });
});

t.test('an AbortSignal stops a request and a stream', async (t) => {
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient();
  t.teardown(() => client.close());
  proxy.setFaults([{ path: /manifests/, every: true, fault: { kind: 'stall' } }]);
  const ac = new AbortController();
  const pending = client.resolve(`${proxy.host}/test/single:v1`, { signal: ac.signal });
  await until(() => proxy.count({ path: /manifests/ }) === 1);
  ac.abort();
  await t.rejects(pending, { name: 'AbortError' });

  const big = await client.head(`${reg.host}/test/big:v1`);
  const m = await client.getManifest(`${reg.host}/test/big@${big.digest}`);
  const layer = m.manifest?.layers[2];
  if (!layer) throw new Error('test/big has three layers');
  proxy.setFaults([{ method: 'GET', path: /blobs/, every: true, fault: { kind: 'stall', afterBytes: 200_000 } }]);
  const ac2 = new AbortController();
  const s = await client.openBlob(`${proxy.host}/test/big`, layer, {
    signal: ac2.signal,
    onProgress: (p) => {
      if (p.done >= 100_000) ac2.abort();
    },
  });
  await t.rejects(digestStream(s), { name: 'AbortError' });
  await t.rejects(client.head(`${reg.host}/test/single:v1`, { signal: AbortSignal.abort() }), { name: 'AbortError' }, 'already aborted');
});
