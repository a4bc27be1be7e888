import t, { type Test } from 'tap';
import { mkdir, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTestCa, pushImage, startForwardProxy, startRegistry, tempDir } from '@broodbox/testkit';
import { ProxyError, RegistryClient, type ClientOptions } from '../../src/index.js';
import { digestStream, smallImage } from '../fixtures.js';
import { loopbackNames } from './network-fixtures.js';

// The registry is "regproxy.test": a name the proxy resolves (to 127.0.0.1) through its own
// /etc/hosts, and the client only through the test's lookup hook, so it is not a loopback literal.
const NAME = 'regproxy.test';
const dir = await tempDir(t, 'bbox-proxy-');
const data = join(dir, 'data');
const ca = await makeTestCa(dir);
const server = await ca.server(NAME, [NAME]);
const plain = await startRegistry({ dataDir: data });
t.teardown(() => plain.stop());
const img = smallImage();
await pushImage(plain.url, 'proxy/app', img, { tag: 'v1' });
const reg = await startRegistry({ dataDir: data, tls: { certificate: server.cert, key: server.key } });
t.teardown(() => reg.stop());
const host = `${NAME}:${reg.port}`;
const ref = `${host}/proxy/app:v1`;
const certsDirs = [join(dir, 'certs.d')];
await mkdir(join(certsDirs[0]!, host), { recursive: true });
await copyFile(ca.cert, join(certsDirs[0]!, host, 'ca.crt'));

const hosts = { [NAME]: '127.0.0.1' };
const open = await startForwardProxy({ connectPorts: [reg.port], hosts });
t.teardown(() => open.stop());
const guarded = await startForwardProxy({ connectPorts: [reg.port], hosts, user: { name: 'pxuser', password: 's3cret-pw' } });
t.teardown(() => guarded.stop());

function client(t: Test, o: ClientOptions): RegistryClient {
  const c = new RegistryClient({ certsDirs, retries: 0, ...o });
  t.teardown(() => c.close());
  return c;
}

/** Resolves the image and reads every layer: a whole pull's worth of requests. */
async function pull(c: RegistryClient, reference = ref): Promise<void> {
  const r = await c.resolve(reference, { platform: 'linux/amd64' });
  for (const layer of r.manifest.layers) await digestStream(await c.openBlob(reference, layer));
}

const tunnels = async (p: { requests(): Promise<string[]> }) => (await p.requests()).filter((r) => r.startsWith('CONNECT')).length;

t.test('HTTPS_PROXY (either case): every request goes through a CONNECT tunnel; the client never resolves the name', async (t) => {
  for (const name of ['HTTPS_PROXY', 'https_proxy']) {
    const before = await tunnels(open);
    const resolved: string[] = [];
    await pull(client(t, { env: { [name]: open.url }, lookup: loopbackNames({}, resolved) }));
    const seen = (await open.requests()).slice(-1)[0];
    t.ok((await tunnels(open)) > before, `${name}: the proxy opened a tunnel`);
    t.equal(seen, `CONNECT ${host} HTTP/1.1`, 'to the registry by name');
    t.same(resolved.filter((n) => n === NAME), [], 'the name was resolved by the proxy, not here');
  }
});

t.test('NO_PROXY hosts, suffixes and loopback go direct', async (t) => {
  for (const noProxy of [NAME, '.test', `${NAME}:${reg.port}`, '*']) {
    const before = (await open.requests()).length;
    await pull(client(t, { env: { HTTPS_PROXY: open.url, NO_PROXY: noProxy }, lookup: loopbackNames(hosts) }));
    t.equal((await open.requests()).length, before, `NO_PROXY=${noProxy}: nothing through the proxy`);
  }
  const before = (await open.requests()).length;
  await pull(client(t, { env: { HTTPS_PROXY: open.url, HTTP_PROXY: open.url, no_proxy: `${NAME}:1` } }), `${plain.host}/proxy/app:v1`);
  t.equal((await open.requests()).length, before, 'a loopback registry is never proxied');
  await pull(client(t, { env: { HTTPS_PROXY: open.url, NO_PROXY: `${NAME}:1` } }));
  t.ok((await open.requests()).length > before, 'a NO_PROXY entry for another port does not match');
});

t.test('proxy credentials from the proxy URL', async (t) => {
  const before = await tunnels(guarded);
  await pull(client(t, { env: { HTTPS_PROXY: guarded.urlWithCredentials } }));
  t.ok((await tunnels(guarded)) > before, 'through the proxy that wants credentials');
  const none = await pull(client(t, { env: { HTTPS_PROXY: guarded.url } })).catch((e: unknown) => e);
  t.type(none, ProxyError);
  t.equal((none as ProxyError).code, 'PROXY_AUTH');
  t.match((none as Error).message, guarded.url, 'names the proxy');
  const wrong = `http://pxuser:not-the-password@127.0.0.1:${guarded.port}`;
  const refused = await pull(client(t, { env: { HTTPS_PROXY: wrong } })).catch((e: unknown) => e);
  t.equal((refused as ProxyError).code, 'PROXY_AUTH');
  t.match((refused as Error).message, `pxuser:***@127.0.0.1:${guarded.port}`, 'names the proxy and user');
  t.notMatch((refused as Error).message, 'not-the-password', 'never its password');
});

t.test('the proxy option overrides the environment', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const before = await tunnels(open);
  await pull(client(t, { env: { HTTPS_PROXY: dead }, proxy: { https: open.url } }));
  t.ok((await tunnels(open)) > before, 'the configured proxy was used');
  const err = await pull(client(t, { env: { HTTPS_PROXY: open.url }, proxy: dead })).catch((e: unknown) => e);
  t.equal((err as ProxyError).code, 'PROXY_UNREACHABLE', String(err));
  t.match((err as Error).message, dead);
  await pull(client(t, { env: { HTTPS_PROXY: dead }, proxy: false, lookup: loopbackNames(hosts) }));
  t.pass('proxy: false goes direct whatever the environment says');
});

t.test('plain HTTP (an insecure registry) goes through HTTP_PROXY in absolute form', async (t) => {
  const plainHost = `${NAME}:${plain.port}`;
  await pull(client(t, { env: { HTTP_PROXY: open.url }, insecure: [plainHost] }), `${plainHost}/proxy/app:v1`);
  const gets = (await open.requests()).filter((r) => r.startsWith(`GET http://${plainHost}/v2/proxy/app/`));
  t.ok(gets.length >= 3, `manifest, config and layers asked through the proxy (${gets.length})`);
});
