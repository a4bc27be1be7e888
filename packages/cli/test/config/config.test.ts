import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSandbox } from '../bbox-process.js';

const HINT = 'hint: see docs/config.md for every key and its allowed values\n';

t.test('bad config values and unknown keys name the file, key, value and what is allowed', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const G = '~/.config/broodbox/config.yaml';
  const cases: Array<[string, string]> = [
    ['image:\n  pull: alwayz\n', `bbox: ${G}: image.pull: "alwayz" is not a pull policy (did you mean "always"?); use one of if-not-present, always, never, background, max-age=<duration>\n`],
    ['image:\n  pull: sometimes\n', `bbox: ${G}: image.pull: "sometimes" is not a pull policy; use one of if-not-present, always, never, background, max-age=<duration>\n`],
    ['image:\n  pul: always\n', `bbox: ${G}: image.pul: unknown key; did you mean image.pull? allowed under image: pull, platform, noImageCache\n`],
    ['imag:\n  pull: always\n', `bbox: ${G}: imag: unknown key; did you mean image? allowed at the top level: image, registries, registryCache, cache, vm, proxy\n`],
    ['cache:\n  maxAge: 7 days\n', `bbox: ${G}: cache.maxAge: "7 days" is not a duration; use a number with a unit: ms, s, m, h, d, w (e.g. 90m, 24h, 7d, 1d12h)\n`],
    ['cache:\n  maxBytes: lots\n', `bbox: ${G}: cache.maxBytes: "lots" is not a size; use a number of bytes, or a number with a unit: KB, MB, GB, TB, KiB, MiB, GiB, TiB (e.g. 20GiB)\n`],
    ['registries:\n  docker.io:\n    mirrors: ["ftp://m.example"]\n', `bbox: ${G}: registries."docker.io".mirrors[0]: "ftp://m.example" is not an http(s) URL; use an http:// or https:// URL, e.g. http://127.0.0.1:5000\n`],
    ['registries:\n  docker.io:\n    mirrors:\n      - url: http://m.example\n        resolv: false\n', `bbox: ${G}: registries."docker.io".mirrors[0].resolv: unknown key; did you mean registries."docker.io".mirrors[0].resolve? allowed under registries."docker.io".mirrors[0]: url, insecure, resolve\n`],
    ['registries:\n  "127.0.0.1:5000":\n    insecure: "yes"\n', `bbox: ${G}: registries."127.0.0.1:5000".insecure: "yes" is not a boolean; use true or false\n`],
    ['registryCache: off\n', `bbox: ${G}: registryCache: "off" is not a boolean or a mapping; use false, true, or a mapping with keys enabled, upstreams, useWhenLoggedIn\n`],
    ['registryCache:\n  enable: false\n', `bbox: ${G}: registryCache.enable: unknown key; did you mean registryCache.enabled? allowed under registryCache: enabled, upstreams, useWhenLoggedIn\n`],
    ['registryCache:\n  upstreams:\n    docker.io: https://u:p@mirror.example\n', `bbox: ${G}: registryCache.upstreams."docker.io": credentials never go into a registry cache; remove them from the URL\n`],
    ['vm:\n  accel: kvn\n', `bbox: ${G}: vm.accel: "kvn" is not an accelerator (did you mean "kvm"?); use one of auto, kvm, tcg\n`],
    ['vm:\n  cpus: 0\n', `bbox: ${G}: vm.cpus: 0 is not a CPU count; use a whole number greater than 0\n`],
    ['- 1\n', `bbox: ${G}: (top level): expected a mapping with keys image, registries, registryCache, cache, vm, proxy, got [1]\n`],
  ];
  for (const [yaml, message] of cases) {
    await sb.write(sb.globalConfig, yaml);
    const r = await sb.run(['cache', 'list']);
    t.equal(r.code, 2, JSON.stringify(yaml));
    t.equal(r.stdout, '', 'nothing on stdout');
    t.equal(r.stderr, message + HINT, JSON.stringify(yaml));
  }
});

t.test('YAML syntax errors give the file, line and column', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const file = await sb.write(join(sb.project, '.broodbox.yaml'), 'image:\n  pull: always\n  pull: never\n');
  const r = await sb.run(['cache', 'list']);
  t.equal(r.code, 2);
  t.equal(r.stderr, `bbox: ${file}:3:3: not valid YAML: Map keys must be unique\nhint: fix the YAML syntax (indentation with spaces, "key: value" pairs)\n`);
});

t.test('project config is found from the working directory up; --config replaces it', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const project = await sb.write(join(sb.project, '.broodbox.yml'), 'cache:\n  dirr: x\n');
  const r = await sb.run(['cache', 'list']);
  t.equal(r.code, 2);
  t.equal(r.stderr, `bbox: ${project}: cache.dirr: unknown key; did you mean cache.dir? allowed under cache: dir, maxAge, maxBytes\n${HINT}`);
  const other = await sb.write(join(sb.root, 'other.yaml'), 'vm:\n  memory: -5\n');
  const viaFlag = await sb.run(['cache', 'list', '--config', other]);
  t.equal(viaFlag.code, 2);
  t.equal(viaFlag.stderr, `bbox: ${other}: vm.memory: -5 is not a memory size in MiB; use a whole number greater than 0\n${HINT}`, 'the --config file is read, the project file is not');
  const missing = await sb.run(['cache', 'list', '--config', join(sb.root, 'nope.yaml')]);
  t.equal(missing.code, 2);
  t.equal(missing.stderr, `bbox: ${join(sb.root, 'nope.yaml')}: no such config file\nhint: check the path given to --config\n`);
});

t.test('bad environment values name the variable', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const r = await sb.run(['cache', 'list'], { env: { BBOX_DISABLE_REGISTRY_CACHE: 'maybe' } });
  t.equal(r.code, 2);
  t.equal(r.stderr, `bbox: BBOX_DISABLE_REGISTRY_CACHE: "maybe" is not a boolean; use true or false (or 1/0, yes/no)\n${HINT}`);
  const p = await sb.run(['pull', 'alpine'], { env: { BBOX_PULL: 'alwayz' } });
  t.equal(p.code, 2);
  t.equal(p.stderr, `bbox: BBOX_PULL: "alwayz" is not a pull policy (did you mean "always"?); use one of if-not-present, always, never, background, max-age=<duration>\n${HINT}`);
});

t.test('--pull rejects unknown policies with the list of accepted ones', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const r = await sb.run(['pull', '--pull', 'alwyas', 'alpine']);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'bbox: --pull: "alwyas" is not a pull policy (did you mean "always"?); use one of if-not-present, always, never, background, max-age=<duration>\n');
  const age = await sb.run(['pull', '--pull', 'max-age=soon', 'alpine']);
  t.equal(age.code, 2);
  t.equal(age.stderr, 'bbox: --pull: "max-age=soon" is not a pull policy: its duration is not valid; use max-age=<duration> with a number and a unit: ms, s, m, h, d, w (e.g. 90m, 24h, 7d, 1d12h)\n');
  const typo = await sb.run(['pull', '--pull', 'sometimes', 'alpine']);
  t.equal(typo.code, 2);
  t.equal(typo.stderr, 'bbox: --pull: "sometimes" is not a pull policy; use one of if-not-present, always, never, background, max-age=<duration>\n');
});

t.test('a validated config is remembered by content: an edit takes effect at once', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const dirOf = async () => (JSON.parse((await sb.run(['cache', 'list', '--json'])).stdout) as { dir: string }).dir;
  await sb.write(sb.globalConfig, `cache:\n  dir: ${join(sb.root, 'aaaa')}\n`);
  t.equal(await dirOf(), join(sb.root, 'aaaa'));
  t.equal(await dirOf(), join(sb.root, 'aaaa'), 'the remembered result is the same');
  const memos = await readdir(join(sb.home, '.cache', 'broodbox', 'config-memo'));
  t.equal(memos.filter((f) => f.endsWith('.json')).length, 1, 'one remembered file');
  await sb.write(sb.globalConfig, `cache:\n  dir: ${join(sb.root, 'bbbb')}\n`);
  t.equal(await dirOf(), join(sb.root, 'bbbb'), 'a same-size edit right after is seen');
  await sb.write(sb.globalConfig, `cache:\n  dir: ${join(sb.root, 'bbbb')}\n  bogus: 1\n`);
  const r = await sb.run(['cache', 'list']);
  t.equal(r.code, 2, 'an edit that breaks the file is reported, not masked by the memo');
});
