import t from 'tap';
import { join } from 'node:path';
import type { LookupFunction } from 'node:net';
import { buildImage, makeLayer, makeTestCa, pushImage, startForwardProxy, startRegistry, tempDir } from '@broodbox/testkit';
import { Cache, pullWithFetcher } from '../../src/index.js';

// pullWithFetcher hands `registries` (with tls) and `network` (proxy, certs.d, lookup, warnings) to
// the registry client it makes: the same options as a RegistryClient user has.
const NAME = 'pullreg.test';
const dir = await tempDir(t, 'bbox-pull-net-');
const ca = await makeTestCa(dir);
const server = await ca.server(NAME, [NAME]);
const plain = await startRegistry({ dataDir: join(dir, 'data') });
t.teardown(() => plain.stop());
const img = buildImage({ layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', type: 'file', content: 'tls\n' }])], config: { Cmd: ['/bin/sh'] } });
await pushImage(plain.url, 'net/app', img, { tag: 'v1' });
const reg = await startRegistry({ dataDir: join(dir, 'data'), tls: { certificate: server.cert, key: server.key } });
t.teardown(() => reg.stop());
const host = `${NAME}:${reg.port}`;
const registries = { [host]: { tls: { ca: ca.cert } } };

const lookup = ((name: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
  if (name !== NAME) return cb(Object.assign(new Error(`${name} is not mapped`), { code: 'ENOTFOUND' }));
  return options?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
}) as LookupFunction;

t.test('a TLS registry trusted through registries.<host>.tls, reached by a name the lookup hook maps', async (t) => {
  const cache = new Cache(join(await tempDir(t), 'cache'));
  const r = await pullWithFetcher(`${host}/net/app:v1`, { cache, registries, network: { lookup, proxy: false } });
  t.equal(r.digest, img.digest);
  t.equal(r.stats.network, true);
});

t.test('through a proxy given as network.proxy', async (t) => {
  const proxy = await startForwardProxy({ connectPorts: [reg.port], hosts: { [NAME]: '127.0.0.1' } });
  t.teardown(() => proxy.stop());
  const cache = new Cache(join(await tempDir(t), 'cache'));
  const r = await pullWithFetcher(`${host}/net/app:v1`, { cache, registries, network: { proxy: { https: proxy.url } } });
  t.equal(r.digest, img.digest);
  t.ok((await proxy.requests()).includes(`CONNECT ${host} HTTP/1.1`), 'tunnelled through the proxy');
});

t.test('tls.verify: false reaches the onWarning given in network', async (t) => {
  const cache = new Cache(join(await tempDir(t), 'cache'));
  const warnings: string[] = [];
  await pullWithFetcher(`${host}/net/app:v1`, { cache, registries: { [host]: { tls: { verify: false } } }, network: { lookup, proxy: false, onWarning: (m) => warnings.push(m) } });
  t.equal(warnings.length, 1);
  t.match(warnings[0], host);
});
