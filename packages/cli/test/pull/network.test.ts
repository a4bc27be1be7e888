import t, { type Test } from 'tap';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestCa, pushImage, startForwardProxy, startRegistry, tempDir } from '@broodbox/testkit';
import { makeSandbox, type Sandbox } from '../bbox-process.js';
import { appImage } from '../registry-fixture.js';

const NAME = 'tlsreg.test';
const dir = await tempDir(t, 'bbox-cli-tls-');
const ca = await makeTestCa(dir);
const server = await ca.server(NAME, [NAME, '127.0.0.1']);
const data = join(dir, 'data');
const plain = await startRegistry({ dataDir: data });
t.teardown(() => plain.stop());
const img = appImage('tls');
await pushImage(plain.url, 'net/app', img, { tag: 'v1' });
const reg = await startRegistry({ dataDir: data, tls: { certificate: server.cert, key: server.key } });
t.teardown(() => reg.stop());
const loopRef = `127.0.0.1:${reg.port}/net/app:v1`;

async function sandbox(t: Test): Promise<Sandbox> {
  const sb = await makeSandbox();
  t.teardown(() => sb.cleanup());
  return sb;
}

const pull = (sb: Sandbox, ref: string, env: Record<string, string> = {}) => sb.run(['pull', '--json', '--cache-dir', join(sb.root, 'c'), ref], { env });

t.test('a TLS registry on loopback: untrusted gives the clear error and exit 4; trusted via certs.d or the config', async (t) => {
  const sb = await sandbox(t);
  const host = `127.0.0.1:${reg.port}`;
  const certsDir = join(sb.home, '.config', 'broodbox', 'certs.d', host);
  const untrusted = await pull(sb, loopRef);
  t.equal(untrusted.code, 4, untrusted.stderr);
  t.match(untrusted.stderr, `TLS to ${host} failed`);
  t.match(untrusted.stderr, 'unknown CA');
  t.match(untrusted.stderr, certsDir, 'says where the CA goes');

  await mkdir(certsDir, { recursive: true });
  await copyFile(ca.cert, join(certsDir, 'ca.crt'));
  const viaCertsD = await pull(sb, loopRef);
  t.equal(viaCertsD.code, 0, viaCertsD.stderr);
  t.equal(JSON.parse(viaCertsD.stdout).digest, img.digest);

  const sb2 = await sandbox(t);
  await sb2.write(sb2.globalConfig, `registries:\n  "${host}":\n    tls:\n      ca: ${ca.cert}\n`);
  const viaConfig = await pull(sb2, loopRef);
  t.equal(viaConfig.code, 0, viaConfig.stderr);
});

t.test('tls.verify: false pulls and warns on stderr', async (t) => {
  const sb = await sandbox(t);
  await sb.write(sb.globalConfig, `registries:\n  "127.0.0.1:${reg.port}":\n    tls:\n      verify: false\n`);
  const r = await pull(sb, loopRef);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /bbox: warning: TLS certificate checks are off for 127\.0\.0\.1:\d+/);
});

t.test('the proxy config key: pulls go through the proxy, and a bad proxy is named without its password', async (t) => {
  const proxy = await startForwardProxy({ connectPorts: [reg.port], hosts: { [NAME]: '127.0.0.1' }, user: { name: 'px', password: 'pw-secret' } });
  t.teardown(() => proxy.stop());
  const sb = await sandbox(t);
  const ref = `${NAME}:${reg.port}/net/app:v1`;
  await sb.write(sb.globalConfig, `proxy: ${proxy.urlWithCredentials}\nregistries:\n  "${NAME}:${reg.port}":\n    tls:\n      ca: ${ca.cert}\n`);
  const r = await pull(sb, ref, { HTTPS_PROXY: 'http://127.0.0.1:1' });
  t.equal(r.code, 0, r.stderr);
  t.ok((await proxy.requests()).some((l) => l === `CONNECT ${NAME}:${reg.port} HTTP/1.1`), 'tunnelled through the configured proxy');

  const sb2 = await sandbox(t);
  await sb2.write(sb2.globalConfig, `proxy: http://px:wrong-pw@127.0.0.1:${proxy.port}\n`);
  const refused = await pull(sb2, ref);
  t.equal(refused.code, 4, refused.stderr);
  t.match(refused.stderr, `proxy http://px:***@127.0.0.1:${proxy.port}`);
  t.notMatch(refused.stderr, 'wrong-pw');
});

t.test('config validation of tls and proxy', async (t) => {
  const sb = await sandbox(t);
  const cases: [string, RegExp][] = [
    ['registries:\n  "r.test":\n    tls:\n      cert: a.pem\n', /registries\."r\.test"\.tls: cert and key go together/],
    ['registries:\n  "r.test":\n    tls:\n      verify: "no"\n', /registries\."r\.test"\.tls\.verify: "no" is not a boolean/],
    ['registries:\n  "r.test":\n    tls:\n      cafile: x\n', /registries\."r\.test"\.tls\.cafile: unknown key/],
    ['proxy: socks5://127.0.0.1:1080\n', /proxy: "socks5:\/\/127\.0\.0\.1:1080" is not an http\(s\) URL/],
    ['proxy:\n  https: http://127.0.0.1:3128\n  noproxy: x\n', /proxy\.noproxy: unknown key; did you mean proxy\.noProxy\?/],
  ];
  for (const [text, message] of cases) {
    await sb.write(sb.globalConfig, text);
    const r = await pull(sb, loopRef);
    t.equal(r.code, 2, text);
    t.match(r.stderr, message, text);
  }
});
