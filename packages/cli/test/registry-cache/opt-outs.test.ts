import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { startProxy } from '@broodbox/testkit';
import { cacheProcesses, cacheWorld, fromBbox } from './fixture.js';

t.test('each opt-out (flag, env, config) starts nothing, writes nothing and pulls directly', async (t) => {
  const w = await cacheWorld(t);
  const ways: [string, string[], Record<string, string>][] = [
    ['--no-registry-cache', ['--no-registry-cache'], {}],
    ['BBOX_DISABLE_REGISTRY_CACHE=true', [], { BBOX_DISABLE_REGISTRY_CACHE: 'true' }],
    ['registryCache: false', [], {}],
  ];
  for (const [name, args, env] of ways) {
    if (name.startsWith('registryCache')) await w.sb.write(w.sb.globalConfig, 'registryCache: false\n');
    const before = fromBbox(await w.upstreamBlobGets()).length;
    const r = await w.pull(['--pull', 'always', ...args], env);
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    t.equal(r.stderr, '', `${name}: no warning, no hint`);
    t.same(cacheProcesses(w.root), [], `${name}: no cache process`);
    t.notOk(existsSync(w.root), `${name}: no registry-cache file written`);
    t.ok(fromBbox(await w.upstreamBlobGets()).length > before || before > 0, `${name}: bbox reached the upstream itself`);
  }
});

t.test('registryCache: false keeps hand-configured mirrors', async (t) => {
  const w = await cacheWorld(t);
  const mirror = await startProxy({ target: w.upstream.url });
  t.teardown(() => mirror.stop());
  await w.sb.write(w.sb.globalConfig, `registryCache: false\nregistries:\n  "${w.upstream.host}":\n    mirrors: ["${mirror.url}"]\n`);
  const r = await w.pull();
  t.equal(r.code, 0, r.stderr);
  t.ok(mirror.count({ path: '/v2/library/app/' }) > 0, 'the configured mirror was used');
  t.notOk(existsSync(w.root), 'no cache files');
});

t.test('a registry the user is logged in to goes direct unless registryCache.useWhenLoggedIn', async (t) => {
  const w = await cacheWorld(t);
  const dockerDir = join(w.sb.home, '.docker');
  await mkdir(dockerDir, { recursive: true });
  await writeFile(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [w.upstream.host]: { auth: Buffer.from('u:p').toString('base64') } } }));
  const direct = await w.pull();
  t.equal(direct.code, 0, direct.stderr);
  t.notOk(existsSync(w.root), 'logged in: no cache started, nothing written');
  t.ok(fromBbox(await w.upstreamBlobGets()).length > 0, 'pulled directly');

  await w.sb.write(w.sb.globalConfig, 'registryCache:\n  useWhenLoggedIn: true\n');
  const through = await w.pull(['--pull', 'always', '--cache-dir', join(w.sb.root, 'other')]);
  t.equal(through.code, 0, through.stderr);
  t.equal(cacheProcesses(w.root).length, 1, 'opted in: the cache runs');
});

async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

t.test('a cache that is down and cannot start: a direct pull and one warning', async (t) => {
  const w = await cacheWorld(t);
  await mkdir(w.dir, { recursive: true });
  const deadPid = spawnSync('true').pid;
  await writeFile(join(w.dir, 'state.json'), JSON.stringify({ upstream: w.upstream.host, remoteUrl: w.upstream.url, pid: deadPid, port: await closedPort(), nonce: 'x', startedAt: new Date().toISOString() }));
  const r = await w.pull([], { BBOX_REGISTRY_CACHE_BIN: '/bin/false' });
  t.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('bbox: warning:'));
  t.equal(warnings.length, 1, 'exactly one warning');
  t.match(warnings[0], `the registry cache for ${w.upstream.host} is not available, pulling directly`);
  t.ok(fromBbox(await w.upstreamBlobGets()).length > 0, 'pulled directly');
  t.same(cacheProcesses(w.root), []);
});

t.test('without docker-registry: a direct pull and a hint, at most once a day', async (t) => {
  const w = await cacheWorld(t);
  const env = { BBOX_REGISTRY_CACHE_BIN: join(w.sb.root, 'no-such', 'docker-registry') };
  const first = await w.pull([], env);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /^bbox: hint: docker-registry is not installed, so pulls go straight to the registry; install it \(apt-get install docker-registry\)/);
  t.equal(first.stderr.trim().split('\n').length, 1, 'one line');
  t.ok(fromBbox(await w.upstreamBlobGets()).length > 0, 'pulled directly');
  t.same(readdirSync(w.root), ['hint-shown'], 'the hint stamp is the only file written');
  const second = await w.pull(['--pull', 'always'], env);
  t.equal(second.code, 0, second.stderr);
  t.equal(second.stderr, '', 'no second hint the same day');
});
