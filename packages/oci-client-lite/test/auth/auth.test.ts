import t from 'tap';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushImage, startRegistry, startTokenServer, writeHtpasswd, startProxy } from '@broodbox/testkit';
import { RegistryClient, Authenticator, Transport, InsecureRealmError, UnauthorizedError } from '../../src/index.js';
import { smallImage } from '../fixtures.js';

const work = await mkdtemp(join(tmpdir(), 'oci-auth-test-'));
t.teardown(() => rm(work, { recursive: true, force: true }));
const img = smallImage();
const USER = { username: 'alice', password: 's3cret:with:colons' };

async function dockerConfigDir(name: string, config: unknown): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

t.test('htpasswd basic auth', async (t) => {
  const htpasswd = await writeHtpasswd(join(work, 'htpasswd'), { [USER.username]: USER.password });
  const reg = await startRegistry({ auth: { kind: 'htpasswd', htpasswdFile: htpasswd } });
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'private/app', img, { tag: 'v1', auth: USER });
  const ref = `${reg.host}/private/app:v1`;

  const anon = new RegistryClient({ dockerConfigDir: join(work, 'none') });
  t.teardown(() => anon.close());
  await t.rejects(anon.resolve(ref), { code: 'UNAUTHORIZED', message: new RegExp(`${reg.host} refused access to private/app.*none is configured.*docker login`) });

  const wrong = new RegistryClient({ dockerConfigDir: join(work, 'none'), credentials: () => ({ username: 'alice', password: 'nope' }) });
  t.teardown(() => wrong.close());
  await t.rejects(wrong.head(ref), { code: 'UNAUTHORIZED', message: /refused/ });

  const asked: string[] = [];
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const good = new RegistryClient({ credentials: (host) => (asked.push(host), USER) });
  t.teardown(() => good.close());
  const r = await good.resolve(`${proxy.host}/private/app:v1`, { platform: 'linux/amd64' });
  t.equal(r.digest, img.digest);
  t.same([...new Set(asked)], [proxy.host], 'credentials asked for the registry host');
  t.equal(proxy.count({ status: 401 }), 1, 'one challenge, then credentials up front');
  t.ok(proxy.requests.slice(1).every((q) => q.headers.authorization?.startsWith('Basic ')));
});

t.test('token auth: anonymous pull tokens, cached per scope, and credentials', async (t) => {
  const tokens = await startTokenServer({
    users: { [USER.username]: USER.password },
    grant: (user, scope) => (user ? scope.actions : scope.name.startsWith('public/') ? ['pull'] : []),
  });
  t.teardown(() => tokens.stop());
  const reg = await startRegistry({ auth: tokens });
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'public/app', img, { tag: 'v1', auth: USER });
  await pushImage(reg.url, 'private/app', img, { tag: 'v1', auth: USER });
  tokens.requests.splice(0);

  const anon = new RegistryClient({ dockerConfigDir: join(work, 'none') });
  t.teardown(() => anon.close());
  const r = await anon.resolve(`${reg.host}/public/app:v1`, { platform: 'linux/amd64' });
  t.equal(r.digest, img.digest);
  t.equal(tokens.requests.length, 1, 'one token for the whole resolve');
  t.match(tokens.requests[0], { user: undefined, service: tokens.service, scopes: [{ type: 'repository', name: 'public/app', actions: ['pull'] }] });
  const s = await anon.openBlob(`${reg.host}/public/app`, img.manifest.layers[0] ?? img.manifest.config);
  for await (const _ of s);
  t.equal(tokens.requests.length, 1, 'the token is reused until it expires');
  await t.rejects(anon.head(`${reg.host}/private/app:v1`), { code: 'UNAUTHORIZED' }, 'anonymous token has no pull on a private repo');
  t.equal(tokens.requests.length, 2, 'a new scope needs a new token');

  const authed = new RegistryClient({ credentials: () => USER });
  t.teardown(() => authed.close());
  t.equal((await authed.head(`${reg.host}/private/app:v1`)).digest, img.digest);
  t.equal(tokens.requests.at(-1)?.user, USER.username, 'token requested with the credentials');

  const bad = new RegistryClient({ credentials: () => ({ username: 'alice', password: 'wrong' }) });
  t.teardown(() => bad.close());
  await t.rejects(bad.head(`${reg.host}/private/app:v1`), { code: 'UNAUTHORIZED', message: /token server .* refused the configured credentials/ });

  // anonymous: credentials from every source are ignored; public content is fetched with an anonymous token.
  const asked: string[] = [];
  const docker = await dockerConfigDir('anon-docker', { auths: { [reg.host]: { auth: Buffer.from(`${USER.username}:${USER.password}`).toString('base64') } } });
  const anonymous = new RegistryClient({ anonymous: true, dockerConfigDir: docker, credentials: (h) => (asked.push(h), USER) });
  t.teardown(() => anonymous.close());
  const before = tokens.requests.length;
  t.equal((await anonymous.head(`${reg.host}/public/app:v1`)).digest, img.digest, 'public content');
  await t.rejects(anonymous.head(`${reg.host}/private/app:v1`), { code: 'UNAUTHORIZED' }, 'no private content, although credentials are configured');
  t.same(asked, [], 'the credentials callback is never asked');
  t.ok(tokens.requests.slice(before).every((q) => q.user === undefined), 'every token was requested without credentials');
});

t.test('a plain-HTTP token realm is refused for an https registry', async (t) => {
  const transport = new Transport({ retries: 0 });
  t.teardown(() => transport.close());
  const auth = new Authenticator(transport);
  let asked = 0;
  const target = {
    origin: 'https://registry.example',
    name: 'registry.example',
    repository: 'a/b',
    plainHttp: false,
    credentials: async () => (asked++, USER),
  };
  await t.rejects(auth.challenge(target, 'Bearer realm="http://127.0.0.1:9/token",service="x"', undefined), InsecureRealmError);
  await t.rejects(auth.challenge(target, 'Bearer realm="http://127.0.0.1:9/token"', undefined), { code: 'INSECURE_REALM', message: /not https/ });
  t.equal(asked, 0, 'no credential source is consulted for a refused realm');
  await t.rejects(auth.challenge(target, 'Negotiate abc', undefined), UnauthorizedError);
});

t.test('credentials from a docker config: auths, DOCKER_CONFIG, credHelpers and credsStore', async (t) => {
  const htpasswd = await writeHtpasswd(join(work, 'htpasswd2'), { [USER.username]: USER.password });
  const reg = await startRegistry({ auth: { kind: 'htpasswd', htpasswdFile: htpasswd } });
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'cfg/app', img, { tag: 'v1', auth: USER });
  const ref = `${reg.host}/cfg/app:v1`;
  const b64 = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');

  const viaAuth = await dockerConfigDir('auth-b64', { auths: { [`http://${reg.host}/v2/`]: { auth: b64 } } });
  const c1 = new RegistryClient({ dockerConfigDir: viaAuth });
  t.teardown(() => c1.close());
  t.equal((await c1.head(ref)).digest, img.digest, 'auths[].auth (base64), key with scheme and path');

  const viaUser = await dockerConfigDir('user-pass', { auths: { [reg.host]: { username: USER.username, password: USER.password } } });
  const saved = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = viaUser;
  t.teardown(() => {
    if (saved === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = saved;
  });
  const c2 = new RegistryClient();
  t.teardown(() => c2.close());
  t.equal((await c2.head(ref)).digest, img.digest, 'DOCKER_CONFIG with username/password');

  const bin = join(work, 'bin');
  await mkdir(bin, { recursive: true });
  const seen = join(work, 'helper-stdin');
  const helper = join(bin, 'docker-credential-ocitest');
  await writeFile(
    helper,
    `#!/bin/sh\n[ "$1" = get ] || exit 3\nread server\nprintf '%s' "$server" > ${JSON.stringify(seen)}\n` +
      `if [ "$server" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"${USER.username}","Secret":"${USER.password}"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
  );
  await chmod(helper, 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
  t.teardown(() => {
    process.env.PATH = savedPath;
  });

  const viaHelper = await dockerConfigDir('helpers', { credHelpers: { [reg.host]: 'ocitest' }, auths: { [reg.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } });
  const c3 = new RegistryClient({ dockerConfigDir: viaHelper });
  t.teardown(() => c3.close());
  t.equal((await c3.head(ref)).digest, img.digest, 'credHelpers wins over auths');
  t.equal(await readFile(seen, 'utf8'), reg.host, 'the helper got the server on stdin');

  const viaStore = await dockerConfigDir('store', { credsStore: 'ocitest', auths: { [reg.host]: {} } });
  const c4 = new RegistryClient({ dockerConfigDir: viaStore });
  t.teardown(() => c4.close());
  t.equal((await c4.head(ref)).digest, img.digest, 'credsStore');

  const missing = await dockerConfigDir('missing-helper', { credHelpers: { [reg.host]: 'does-not-exist' } });
  const c5 = new RegistryClient({ dockerConfigDir: missing });
  t.teardown(() => c5.close());
  await t.rejects(c5.head(ref), { code: 'CREDENTIAL_HELPER', message: /docker-credential-does-not-exist.*PATH/ });

  const broken = join(work, 'broken');
  await mkdir(broken, { recursive: true });
  await writeFile(join(broken, 'config.json'), '{ not json');
  const c6 = new RegistryClient({ dockerConfigDir: broken });
  t.teardown(() => c6.close());
  await t.rejects(c6.head(ref), { code: 'DOCKER_CONFIG', message: /config\.json/ });
});
