import t, { type Test } from 'tap';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestCa, pushImage, startRegistry, tempDir } from '@broodbox/testkit';
import { RegistryClient, TlsError, type RequestEvent } from '../../src/index.js';
import { smallImage } from '../fixtures.js';
import { loopbackNames } from '../http/network-fixtures.js';

// One storage behind three registries: plain HTTP (to push), TLS, and TLS asking for a client certificate.
const dir = await tempDir(t, 'bbox-tls-');
const data = join(dir, 'data');
const ca = await makeTestCa(dir);
const server = await ca.server('registry.test', ['registry.test', 'localhost', '127.0.0.1']);
const pusher = await startRegistry({ dataDir: data });
t.teardown(() => pusher.stop());
const img = smallImage();
await pushImage(pusher.url, 'tls/app', img, { tag: 'v1' });
const tlsReg = await startRegistry({ dataDir: data, tls: { certificate: server.cert, key: server.key } });
t.teardown(() => tlsReg.stop());
const mtlsReg = await startRegistry({ dataDir: data, tls: { certificate: server.cert, key: server.key, clientCas: [ca.cert] } });
t.teardown(() => mtlsReg.stop());

const lookup = loopbackNames({ 'registry.test': '127.0.0.1', 'other.test': '127.0.0.1' });
const named = (port: number, name = 'registry.test') => `${name}:${port}`;

/** A client that trusts only what the test gives it: no system store, its own certs.d roots. */
function client(t: Test, certsDirs: string[], extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ lookup, certsDirs, env: {}, proxy: false, retries: 0, ...extra });
  t.teardown(() => c.close());
  return c;
}

async function certsDir(root: string, host: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(root, host), { recursive: true });
  for (const [name, from] of Object.entries(files)) await copyFile(from, join(root, host, name));
}

t.test('a registry signed by an unknown CA: the error names the registry, the check and the certs.d path', async (t) => {
  const root = await tempDir(t);
  const host = named(tlsReg.port);
  const err = await client(t, [root]).resolve(`${host}/tls/app:v1`).catch((e: unknown) => e);
  t.type(err, TlsError);
  t.equal((err as TlsError).code, 'TLS_UNKNOWN_CA');
  t.match((err as Error).message, host, 'names the registry');
  t.match((err as Error).message, 'unknown CA');
  t.match((err as Error).message, join(root, host), 'says where to put the CA');
});

t.test('trusted through a certs.d directory (HOST:PORT/*.crt)', async (t) => {
  const root = await tempDir(t);
  const host = named(tlsReg.port);
  await certsDir(root, host, { 'company-ca.crt': ca.cert });
  const events: RequestEvent[] = [];
  const r = await client(t, [join(root, 'absent'), root], { onRequest: (e) => events.push(e) }).resolve(`${host}/tls/app:v1`);
  t.equal(r.digest, img.digest);
  t.ok(events.length > 0 && events.every((e) => e.url.startsWith(`https://${host}/`)), 'https all the way');
});

t.test('trusted through the system store (SSL_CERT_FILE)', async (t) => {
  const root = await tempDir(t);
  const r = await client(t, [root], { env: { SSL_CERT_FILE: ca.cert } }).resolve(`${named(tlsReg.port)}/tls/app:v1`);
  t.equal(r.digest, img.digest);
});

t.test('trusted through a configured CA file (registries.<host>.tls.ca)', async (t) => {
  const root = await tempDir(t);
  const host = named(tlsReg.port);
  const r = await client(t, [root], { registries: { [host]: { tls: { ca: ca.cert } } } }).resolve(`${host}/tls/app:v1`);
  t.equal(r.digest, img.digest);
});

t.test('a certificate for another name: hostname mismatch', async (t) => {
  const root = await tempDir(t);
  const host = named(tlsReg.port, 'other.test');
  await certsDir(root, host, { 'ca.crt': ca.cert });
  const err = await client(t, [root]).resolve(`${host}/tls/app:v1`).catch((e: unknown) => e);
  t.equal((err as TlsError).code, 'TLS_HOSTNAME_MISMATCH');
  t.match((err as Error).message, host);
});

t.test('an expired certificate: the error says so', async (t) => {
  const old = await ca.expiredServer('registry.test', ['registry.test']);
  const expiredReg = await startRegistry({ dataDir: data, tls: { certificate: old.cert, key: old.key } });
  t.teardown(() => expiredReg.stop());
  const root = await tempDir(t);
  const host = named(expiredReg.port);
  await certsDir(root, host, { 'ca.crt': ca.cert });
  const err = await client(t, [root]).resolve(`${host}/tls/app:v1`).catch((e: unknown) => e);
  t.equal((err as TlsError).code, 'TLS_EXPIRED', String(err));
  t.match((err as Error).message, `TLS to ${host} failed: its certificate has expired`);
});

t.test('a registry that requires a client certificate', async (t) => {
  const host = named(mtlsReg.port);
  const pair = await ca.client('bbox-client');
  await t.test('without one: a clear error saying where the pair goes', async (t) => {
    const root = await tempDir(t);
    await certsDir(root, host, { 'ca.crt': ca.cert });
    const err = await client(t, [root]).resolve(`${host}/tls/app:v1`).catch((e: unknown) => e);
    t.equal((err as TlsError).code, 'TLS_CLIENT_CERT', String(err));
    t.match((err as Error).message, host);
    t.match((err as Error).message, 'client certificate');
    t.match((err as Error).message, join(root, host));
  });
  await t.test('with the pair in certs.d (client.cert + client.key)', async (t) => {
    const root = await tempDir(t);
    await certsDir(root, host, { 'ca.crt': ca.cert, 'client.cert': pair.cert, 'client.key': pair.key });
    const r = await client(t, [root]).resolve(`${host}/tls/app:v1`);
    t.equal(r.digest, img.digest);
  });
  await t.test('with the pair in the config (tls.cert, tls.key)', async (t) => {
    const root = await tempDir(t);
    const r = await client(t, [root], { registries: { [host]: { tls: { ca: ca.cert, cert: pair.cert, key: pair.key } } } }).resolve(`${host}/tls/app:v1`);
    t.equal(r.digest, img.digest);
  });
});

t.test('a TLS registry on loopback: asked in plain HTTP, it answers as a TLS server, and is asked over https from then on', async (t) => {
  const root = await tempDir(t);
  const host = `127.0.0.1:${tlsReg.port}`;
  await certsDir(root, host, { 'ca.crt': ca.cert });
  const first: RequestEvent[] = [];
  const r = await client(t, [root], { onRequest: (e) => first.push(e) }).resolve(`${host}/tls/app:v1`);
  t.equal(r.digest, img.digest);
  t.same(first.filter((e) => e.url.startsWith('http:')).map((e) => e.status), [400], 'one plain-HTTP attempt, answered 400 by the TLS server');
  const again: RequestEvent[] = [];
  await client(t, [root], { onRequest: (e) => again.push(e) }).head(`${host}/tls/app:v1`);
  t.ok(again.length > 0 && again.every((e) => e.url.startsWith('https:')), 'remembered: no second plain-HTTP attempt');
});

t.test('tls.verify: false speaks TLS without checks, and warns', async (t) => {
  const root = await tempDir(t);
  const host = named(tlsReg.port);
  const warnings: string[] = [];
  const c = client(t, [root], { registries: { [host]: { tls: { verify: false } } }, onWarning: (m) => warnings.push(m) });
  const r = await c.resolve(`${host}/tls/app:v1`);
  t.equal(r.digest, img.digest);
  t.equal(warnings.length, 1, 'one warning per client and host');
  t.match(warnings[0], host);
  t.match(warnings[0], 'tls.verify: false');
});
