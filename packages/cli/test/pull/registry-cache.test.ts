import t from 'tap';
import { join } from 'node:path';
import { startProxy, startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

t.test('configured mirrors are used, and --no-registry-cache / BBOX_DISABLE_REGISTRY_CACHE bypass them', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await push(reg, 'cli/mirrored', '1', appImage('m'));
  const mirror = await startProxy({ target: reg.url });
  t.teardown(() => mirror.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  await sb.write(join(sb.project, '.broodbox.yaml'), `registries:\n  "${reg.host}":\n    mirrors: ["${mirror.url}"]\n`);
  const ref = `${reg.host}/cli/mirrored:1`;
  const pull = (args: string[], env: Record<string, string> = {}) => sb.run(['pull', '--cache-dir', sb.cacheDir, '--pull', 'always', ...args, ref], { env });

  const viaMirror = await pull([]);
  t.equal(viaMirror.code, 0, viaMirror.stderr);
  t.ok(mirror.count({ path: '/v2/cli/mirrored/' }) > 0, 'the pull went through the mirror');

  mirror.clear();
  const flag = await pull(['--no-registry-cache']);
  t.equal(flag.code, 0, flag.stderr);
  t.equal(mirror.count(), 0, '--no-registry-cache: the mirror saw nothing');

  const env = await pull([], { BBOX_DISABLE_REGISTRY_CACHE: 'true' });
  t.equal(env.code, 0, env.stderr);
  t.equal(mirror.count(), 0, 'BBOX_DISABLE_REGISTRY_CACHE=true: the mirror saw nothing');

  const off = await pull([], { BBOX_DISABLE_REGISTRY_CACHE: '0' });
  t.equal(off.code, 0, off.stderr);
  t.ok(mirror.count() > 0, 'BBOX_DISABLE_REGISTRY_CACHE=0 keeps the mirror');
});

t.test('a mirror-only setup with its mirror down fails with exit 4 and names the mirror', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await push(reg, 'cli/airgap', '1', appImage('g'));
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const dead = 'http://127.0.0.1:9';
  await sb.write(sb.globalConfig, `registries:\n  "${reg.host}":\n    mirrors: ["${dead}"]\n    fallback: false\n`);
  const ref = `${reg.host}/cli/airgap:1`;
  const r = await sb.run(['pull', '--cache-dir', sb.cacheDir, ref]);
  t.equal(r.code, 4, 'registry/network exit code');
  t.equal(r.stdout, '');
  t.match(r.stderr, /^bbox: /);
  t.match(r.stderr, '127.0.0.1:9', 'the failing mirror is named');

  await sb.write(sb.globalConfig, `registries:\n  "${reg.host}":\n    mirrors: ["${dead}"]\n`);
  const fallback = await sb.run(['pull', '--cache-dir', sb.cacheDir, ref]);
  t.equal(fallback.code, 0, 'with fallback (the default) the registry itself answers');
});
