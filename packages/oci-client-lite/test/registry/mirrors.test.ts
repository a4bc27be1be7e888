import t from 'tap';
import { pushImage, startProxy, startRegistry, type FaultProxy } from '@broodbox/testkit';
import { RegistryClient, RegistryUnavailableError, endpointsFor, type ClientOptions, type Reference, type ResolveResult } from '../../src/index.js';
import { digestStream, smallImage } from '../fixtures.js';

const USER = { username: 'up', password: 'upstream-secret' };
const upstream = await startRegistry();
t.teardown(() => upstream.stop());
const img = smallImage();
await pushImage(upstream.url, 'team/app', img, { tag: 'v1' });
// Counting proxies: clients reach the upstream through `up`, the mirror through `mir`.
const up = await startProxy({ target: upstream.url });
t.teardown(() => up.stop());
const mirror = await startRegistry({ proxy: { remoteurl: upstream.url } });
t.teardown(() => mirror.stop());
const mir = await startProxy({ target: mirror.url });
t.teardown(() => mir.stop());
const REF = `${up.host}/team/app:v1`;

function client(registry: NonNullable<ClientOptions['registries']>[string], extra: ClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    registries: { [up.host]: registry },
    credentials: (host) => (host === up.host ? USER : undefined),
    retryBaseMs: 10,
    ...extra,
  });
  t.teardown(() => c.close());
  return c;
}

async function pullAll(c: RegistryClient, ref: string | Reference = REF): Promise<{ r: ResolveResult; endpoints: string[] }> {
  const r = await c.resolve(ref, { platform: 'linux/amd64' });
  const endpoints: string[] = [];
  for (const l of r.manifest.layers) {
    const s = await c.openBlob(r.ref, l);
    endpoints.push(s.endpoint);
    const got = await digestStream(s);
    if (got.digest !== l.digest) throw new Error(`layer ${l.digest} arrived as ${got.digest}`);
  }
  return { r, endpoints };
}

function resetCounts(...ps: FaultProxy[]) {
  for (const p of ps) {
    p.clear();
    p.setFaults([]);
  }
}

t.test('endpoint order: mirrors, then the registry; "*" catch-all; resolve:false; fallback:false; disabled', async (t) => {
  const reg = { 'ghcr.io': { mirrors: ['http://127.0.0.1:1', { url: 'mirror.example', resolve: false }] }, '*': { mirrors: ['127.0.0.1:2'] } };
  t.same(endpointsFor('ghcr.io', 'digest', { registries: reg }).map((e) => e.url), ['http://127.0.0.1:1', 'https://mirror.example', 'https://ghcr.io']);
  t.same(endpointsFor('ghcr.io', 'tag', { registries: reg }).map((e) => e.url), ['http://127.0.0.1:1', 'https://ghcr.io']);
  t.same(endpointsFor('docker.io', 'tag', { registries: reg }).map((e) => e.url), ['http://127.0.0.1:2', 'https://registry-1.docker.io']);
  t.same(endpointsFor('docker.io', 'tag', { registries: reg, disableMirrors: true }).map((e) => e.url), ['https://registry-1.docker.io']);
  t.same(endpointsFor('quay.io', 'tag', { registries: { 'quay.io': { mirrors: ['m.local:5000'], fallback: false } } }).map((e) => e.url), ['https://m.local:5000']);
  t.same(endpointsFor('quay.io', 'tag', { registries: { 'quay.io': { insecure: true } } }).map((e) => e.url), ['http://quay.io']);
  t.same(endpointsFor('10.0.0.5:5000', 'tag', { insecure: ['10.0.0.5:5000'] }).map((e) => e.url), ['http://10.0.0.5:5000']);
  t.equal(endpointsFor('ghcr.io', 'tag', { registries: reg })[0]?.ns, 'ghcr.io');
  t.throws(() => endpointsFor('x.io', 'tag', { registries: { 'x.io': { mirrors: ['ftp://m'] } } }), { code: 'INVALID_MIRROR' });
});

t.test('pulls go through the mirror, with ?ns= and without upstream credentials', async (t) => {
  resetCounts(up, mir);
  const c = client({ mirrors: [mir.url] });
  const { r, endpoints } = await pullAll(c);
  t.equal(r.digest, img.digest);
  t.equal(r.endpoint, mir.url, 'manifest served by the mirror');
  t.same(new Set(endpoints), new Set([mir.url]), 'blobs served by the mirror');
  t.equal(up.count(), 0, 'upstream never asked directly');
  t.same(
    mir.requests.filter((q) => /\/manifests\//.test(q.path)).map((q) => `${q.method} ${q.path}`),
    ['GET /v2/team/app/manifests/v1'],
    'one manifest request: a GET of the tag, from the mirror',
  );
  t.ok(mir.count() >= 4, `mirror answered ${mir.count()} requests`);
  t.ok(mir.requests.every((q) => new URLSearchParams(q.query).get('ns') === up.host), 'every mirror request carries ?ns=');
  t.ok(mir.requests.every((q) => q.headers.authorization === undefined), 'no Authorization sent to the mirror');
});

t.test('a mirror that is down, answers 5xx or 404, or asks for credentials falls through to the registry', async (t) => {
  const cases = [
    { name: '503', fault: { kind: 'status', status: 503 } },
    { name: '404', fault: { kind: 'status', status: 404 } },
    { name: 'reset', fault: { kind: 'reset' } },
    { name: '401', fault: { kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="mirror"' } } },
  ] as const;
  for (const c of cases) {
    resetCounts(up, mir);
    mir.setFaults([{ every: true, fault: c.fault }]);
    const cl = client({ mirrors: [mir.url] });
    const { r, endpoints } = await pullAll(cl);
    t.equal(r.digest, img.digest, `${c.name}: pulled`);
    t.equal(r.endpoint, up.url, `${c.name}: from the registry`);
    t.same(new Set(endpoints), new Set([up.url]));
    t.ok(mir.count() > 0, `${c.name}: the mirror was tried first`);
    t.ok(mir.requests.every((q) => q.headers.authorization === undefined), `${c.name}: upstream credentials never reach the mirror`);
  }
  resetCounts(up, mir);
  mir.setFaults([{ every: true, fault: { kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="mirror"' } } }]);
  const own = { username: 'mirror-user', password: 'mirror-pass' };
  const withOwn = client({ mirrors: [{ url: mir.url, credentials: own }] });
  await pullAll(withOwn);
  const sent = mir.requests.map((q) => q.headers.authorization).filter(Boolean);
  t.ok(sent.length > 0, 'the mirror got credentials configured for it');
  t.ok(sent.every((h) => h === `Basic ${Buffer.from('mirror-user:mirror-pass').toString('base64')}`), 'only the mirror\'s own');

  resetCounts(up, mir);
  const dead = client({ mirrors: ['http://127.0.0.1:1', mir.url] });
  const { r } = await pullAll(dead);
  t.equal(r.endpoint, mir.url, 'a refused connection moves on to the next mirror');
  t.equal(up.count(), 0);
});

t.test('with the mirror stopped, pulls still succeed from the registry; fallback:false gives a clear error', async (t) => {
  const tmpMirror = await startRegistry({ proxy: { remoteurl: upstream.url } });
  const url = tmpMirror.url;
  await tmpMirror.stop();
  resetCounts(up, mir);
  const c = client({ mirrors: [url] });
  const { r } = await pullAll(c);
  t.equal(r.endpoint, up.url);
  t.ok(up.count() > 0);

  const airGapped = client({ mirrors: [url], fallback: false });
  const err = await airGapped.resolve(REF).catch((e: unknown) => e);
  t.ok(err instanceof RegistryUnavailableError);
  t.match(err, { code: 'REGISTRY_UNAVAILABLE', failures: [{ endpoint: url }] });
  t.match((err as Error).message, new RegExp(`could not reach ${up.host} for team/app; tried:\\n  ${url}: .*ECONNREFUSED`));
  t.equal((err as RegistryUnavailableError).failures.length, 1, 'the registry itself was not tried');

  const both = client({ mirrors: [url, 'http://127.0.0.1:1'], fallback: false });
  const err2 = (await both.head(REF).catch((e: unknown) => e)) as RegistryUnavailableError;
  t.same(err2.failures.map((f) => f.endpoint), [url, 'http://127.0.0.1:1'], 'each endpoint is listed');
});

t.test('disableMirrors reaches the registry only', async (t) => {
  resetCounts(up, mir);
  const c = client({ mirrors: [mir.url] }, { disableMirrors: true });
  const { r } = await pullAll(c);
  t.equal(r.endpoint, up.url);
  t.equal(mir.count(), 0);
});

t.test('resolve:false resolves tags upstream and fetches manifests by digest and blobs from the mirror', async (t) => {
  resetCounts(up, mir);
  const c = client({ mirrors: [{ url: mir.url, resolve: false }] });
  const { r, endpoints } = await pullAll(c);
  t.equal(r.digest, img.digest);
  t.equal(up.count({ method: 'HEAD', path: '/v2/team/app/manifests/v1' }), 1, 'the tag was resolved upstream');
  t.equal(up.count({ method: 'GET', path: /manifests/ }), 0, 'no manifest body from upstream');
  t.equal(mir.count({ path: /manifests\/v1$/ }), 0, 'the mirror was not asked for the tag');
  t.equal(up.count({ path: /blobs|manifests\/sha256/ }), 0, 'nothing by digest from upstream');
  t.equal(mir.count({ method: 'GET', path: `/v2/team/app/manifests/${img.digest}` }), 1, 'manifest by digest from the mirror');
  t.same(new Set(endpoints), new Set([mir.url]));

  resetCounts(up, mir);
  const pinned = client({ mirrors: [{ url: mir.url, resolve: false }], fallback: false });
  const byDigest = await pinned.resolve(`${up.host}/team/app@${img.digest}`, { platform: 'linux/amd64' });
  t.equal(byDigest.digest, img.digest, 'a pinned digest works mirror-only');
  t.equal(up.count(), 0);
  await t.rejects(pinned.resolve(REF), { code: 'REGISTRY_UNAVAILABLE', message: /resolve: false and fallback is false/ }, 'a tag has nowhere to go');
});
