import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import {
  buildImage,
  libtrustKeyId,
  makeLayer,
  parseScope,
  pushImage,
  RegistryRequestError,
  skopeoCopy,
  startRegistry,
  startTokenServer,
  tempDir,
  writeHtpasswd,
} from '../../src/index.js';

const image = buildImage({ layers: [makeLayer([{ path: 'f', type: 'file', content: 'auth' }])] });

t.test('htpasswd registry accepts the written credentials and refuses others', async (t) => {
  const dir = await tempDir(t);
  const file = await writeHtpasswd(join(dir, 'htpasswd'), { alice: 'wonderland', bob: 'builder' });
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  t.equal(lines.length, 2);
  t.ok(bcrypt.compareSync('wonderland', lines[0]?.split(':')[1] ?? ''), 'bcrypt hash');
  const reg = await startRegistry({ auth: { kind: 'htpasswd', htpasswdFile: file } });
  t.teardown(() => reg.stop());

  const anon = await fetch(`${reg.url}/v2/`);
  t.equal(anon.status, 401);
  t.match(anon.headers.get('www-authenticate') ?? '', /^Basic/);
  await t.rejects(pushImage(reg.url, 'sec/app', image, { tag: 'v1' }), RegistryRequestError, 'no credentials');
  await t.rejects(pushImage(reg.url, 'sec/app', image, { tag: 'v1', auth: { username: 'alice', password: 'nope' } }), { code: 'REGISTRY_REQUEST_FAILED', status: 401 });
  await pushImage(reg.url, 'sec/app', image, { tag: 'v1', auth: { username: 'alice', password: 'wonderland' } });

  const out = await tempDir(t);
  await skopeoCopy(`docker://${reg.host}/sec/app:v1`, `oci:${out}:v1`, { srcCreds: { username: 'bob', password: 'builder' } });
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
  t.equal(index.manifests[0].digest, image.digest);
  await t.rejects(skopeoCopy(`docker://${reg.host}/sec/app:v1`, `oci:${out}:v2`, { srcCreds: { username: 'bob', password: 'x' } }), { code: 'SKOPEO_FAILED' });
});

t.test('startRegistry writes the htpasswd file itself from users', async (t) => {
  const reg = await startRegistry({ auth: { kind: 'htpasswd', users: { carol: 'secret' } } });
  t.teardown(() => reg.stop());
  await t.rejects(pushImage(reg.url, 'sec/own', image, { auth: { username: 'carol', password: 'wrong' } }), { code: 'REGISTRY_REQUEST_FAILED' });
  const res = await pushImage(reg.url, 'sec/own', image, { auth: { username: 'carol', password: 'secret' } });
  t.equal(res.digest, image.digest);
  await t.rejects(startRegistry({ auth: { kind: 'htpasswd' } }), { code: 'BAD_REGISTRY_OPTIONS' });
});

t.test('token registry trusts issued tokens and enforces granted actions', async (t) => {
  const tokens = await startTokenServer({
    users: { writer: 'w-pass', reader: 'r-pass' },
    grant: (user, scope) => (user === 'writer' ? scope.actions : user === 'reader' ? scope.actions.filter((a) => a === 'pull') : []),
  });
  t.teardown(() => tokens.stop());
  const reg = await startRegistry({ auth: tokens });
  t.teardown(() => reg.stop());

  const challenge = (await fetch(`${reg.url}/v2/`)).headers.get('www-authenticate') ?? '';
  t.match(challenge, new RegExp(`^Bearer realm="${tokens.realm}",service="${tokens.service}"`));

  await t.rejects(pushImage(reg.url, 'team/app', image, { tag: 'v1', auth: { username: 'writer', password: 'bad' } }), { code: 'REGISTRY_REQUEST_FAILED', status: 401 }, 'wrong password');
  await t.rejects(pushImage(reg.url, 'team/app', image, { tag: 'v1', auth: { username: 'reader', password: 'r-pass' } }), { code: 'REGISTRY_REQUEST_FAILED', status: 401 }, 'pull-only user cannot push');
  await pushImage(reg.url, 'team/app', image, { tag: 'v1', auth: { username: 'writer', password: 'w-pass' } });
  const writes = tokens.requests.filter((r) => r.user === 'writer' && r.status === 200);
  t.ok(writes.length > 0);
  t.same(writes[0]?.scopes, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);

  const out = await tempDir(t);
  await skopeoCopy(`docker://${reg.host}/team/app:v1`, `oci:${out}:v1`, { srcCreds: { username: 'reader', password: 'r-pass' } });
  t.equal(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests[0].digest, image.digest);
  await t.rejects(skopeoCopy(`docker://${reg.host}/team/app:v1`, `oci:${out}:v2`), { code: 'SKOPEO_FAILED' }, 'anonymous pull refused');

  const now = Math.floor(Date.now() / 1000);
  const expired = tokens.sign({ iss: tokens.issuer, sub: 'writer', aud: tokens.service, exp: now - 60, nbf: now - 120, iat: now - 120, jti: 'x', access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] });
  const res = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { authorization: `Bearer ${expired}`, accept: image.mediaType } });
  t.equal(res.status, 401, 'expired token refused');
  const fresh = tokens.sign({ iss: tokens.issuer, sub: 'writer', aud: tokens.service, exp: now + 60, nbf: now - 10, iat: now, jti: 'y', access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] });
  const ok = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { authorization: `Bearer ${fresh}`, accept: image.mediaType } });
  t.equal(ok.status, 200, 'hand-signed token accepted');
});

t.test('scope parsing and libtrust key ids', async (t) => {
  t.same(parseScope('repository:127.0.0.1:5000/a/b:pull,push'), { type: 'repository', name: '127.0.0.1:5000/a/b', actions: ['pull', 'push'] });
  t.equal(parseScope('nonsense'), undefined);
  t.match(libtrustKeyId(Buffer.from('key')), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
});
