import t, { type Test } from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push, requestsFor } from '../registry-fixture.js';

interface PullJson {
  ref: string;
  digest: string;
  rootfs: string;
  fromCache: boolean;
  policy: string;
}

/** Waits (bounded) until a background refresh's log in the cache matches `what`. */
async function refreshLogSays(cacheDir: string, what: RegExp): Promise<void> {
  const dir = join(cacheDir, 'refresh');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log'));
    const text = (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))).join('');
    if (what.test(text)) return;
    if (Date.now() > deadline) throw new Error(`the refresh log never said ${what}: ${text}`);
    await delay(20);
  }
}

function parseJson(t: Test, stdout: string): PullJson {
  const lines = stdout.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, 'exactly one line on stdout');
  const o = JSON.parse(lines[0]!) as PullJson;
  t.same(Object.keys(o), ['ref', 'digest', 'rootfs', 'fromCache', 'policy'], 'exactly the documented keys');
  return o;
}

t.test('every pull policy against a real registry', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const repo = 'cli/app';
  const ref = `${reg.host}/${repo}:1`;
  const v1 = await push(reg, repo, '1', appImage('v1'));
  const pull = (...args: string[]) => sb.run(['pull', '--cache-dir', sb.cacheDir, ...args]);

  const manifestRequests = (lines: string[]) => lines.filter((l) => l.includes('/manifests/')).map((l) => /"(GET|HEAD) (\S+)/.exec(l)?.slice(1).join(' '));
  const cold = await pull(ref);
  t.equal(cold.code, 0, cold.stderr);
  t.same(manifestRequests(await requestsFor(reg, repo)), [`GET /v2/${repo}/manifests/1`], 'a cold pull makes one manifest request: a GET of the tag');
  t.match(cold.stdout, new RegExp(`^${ref}: pulled 2 layers, \\d`), 'cold pull says what it fetched');
  t.match(cold.stdout, `digest  ${v1}`);
  const rootfs = /rootfs {2}(.*)\n/.exec(cold.stdout)![1]!;
  t.equal(await readFile(join(rootfs, 'etc/version'), 'utf8'), 'v1\n', 'the rootfs holds the image files');
  t.equal(cold.stderr, '', 'no progress when stderr is not a terminal');

  let seen = (await requestsFor(reg, repo)).length;
  const warm = await pull(ref);
  t.equal(warm.code, 0);
  t.match(warm.stdout, `${ref}: cache hit, no network used`);
  t.equal((await requestsFor(reg, repo)).length, seen, 'a warm if-not-present pull makes no request');

  const never = parseJson(t, (await pull('--pull', 'never', '--json', ref)).stdout);
  t.same(never, { ref, digest: v1, rootfs, fromCache: true, policy: 'never' });
  t.equal((await requestsFor(reg, repo)).length, seen, 'never makes no request');

  const unchanged = await pull('--pull', 'always', ref);
  t.equal(unchanged.code, 0);
  t.match(unchanged.stdout, `${ref}: digest unchanged`);
  const afterAlways = await requestsFor(reg, repo);
  t.same(manifestRequests(afterAlways.slice(seen)), [`HEAD /v2/${repo}/manifests/1`], 'always asks the registry with one HEAD');
  t.notOk(afterAlways.slice(seen).some((l) => l.includes('/blobs/')), 'an unchanged digest fetches no blob');
  seen = afterAlways.length;

  const v2 = await push(reg, repo, '1', appImage('v2'));
  const stale = parseJson(t, (await pull('--json', ref)).stdout);
  t.equal(stale.digest, v1, 'if-not-present keeps the cached digest after the tag moved');
  const fresh = await pull('--pull', 'Always', ref);
  t.equal(fresh.code, 0);
  t.match(fresh.stdout, `${ref}: pulled 1 layer`, 'only the changed layer is fetched');
  t.match(fresh.stdout, `digest  ${v2}`);

  const v3 = await push(reg, repo, '1', appImage('v3'));
  const bg = parseJson(t, (await pull('--pull', 'background', '--json', ref)).stdout);
  t.equal(bg.digest, v2, 'background answers from the cache at once');
  t.equal(bg.policy, 'background');
  // The refresh runs on after bbox exits (pull-background.test.ts checks that): wait for its log.
  await refreshLogSays(sb.cacheDir, new RegExp(`done: ${v3}`));
  const afterBg = parseJson(t, (await pull('--pull', 'never', '--json', ref)).stdout);
  t.equal(afterBg.digest, v3, 'the detached refresh recorded the new digest');

  seen = (await requestsFor(reg, repo)).length;
  const young = await pull('--pull', 'max-age=1h', ref);
  t.equal(young.code, 0);
  t.match(young.stdout, 'cache hit, no network used');
  t.equal((await requestsFor(reg, repo)).length, seen, 'max-age within the age makes no request');
  const old = await pull('--pull', 'max-age=1ms', ref);
  t.equal(old.code, 0);
  t.ok((await requestsFor(reg, repo)).length > seen, 'max-age past the age asks the registry');

  const aliases: Array<[string, string]> = [['missing', 'if-not-present'], ['IfNotPresent', 'if-not-present'], ['Never', 'never'], ['newer', 'always']];
  for (const [alias, canonical] of aliases) {
    const r = await pull('--pull', alias, '--json', ref);
    t.equal(r.code, 0, alias);
    t.equal(parseJson(t, r.stdout).policy, canonical, `${alias} is ${canonical}`);
  }

  const quiet = await pull('-q', ref);
  t.equal(quiet.stdout, `${afterBg.rootfs}\n`, '--quiet prints only the rootfs path');
  t.equal(quiet.stderr, '');
});

t.test('never with nothing cached, and the deprecated --no-pull', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const ref = `${reg.host}/cli/absent:1`;
  const r = await sb.run(['pull', '--cache-dir', sb.cacheDir, '--pull', 'never', ref]);
  t.equal(r.code, 3, 'exit 3: not cached');
  t.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.equal(lines.length, 2, 'one message line and one hint line');
  t.match(lines[0], /^bbox: .*cli\/absent:1/, 'names the ref');
  t.match(lines[0], /never/, 'names the policy');
  t.match(lines[1], /^hint: /);
  t.equal((await requestsFor(reg, 'cli/absent')).length, 0, 'never made no request');

  const np = await sb.run(['pull', '--cache-dir', sb.cacheDir, '--no-pull', ref]);
  t.equal(np.code, 3, '--no-pull acts as --pull never');
  t.match(np.stderr, /^bbox: warning: --no-pull is deprecated and will be removed; use --pull never\n/);

  await push(reg, 'cli/absent', '1', appImage('x'));
  await sb.run(['pull', '--cache-dir', sb.cacheDir, ref]);
  const cached = await sb.run(['pull', '--cache-dir', sb.cacheDir, '--no-pull', '--json', ref]);
  t.equal(cached.code, 0);
  t.equal(JSON.parse(cached.stdout).policy, 'never');
  t.match(cached.stderr, 'deprecated');
});

t.test('config precedence: flag > env > project > global > default', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const ref = `${reg.host}/cli/prec:1`;
  await push(reg, 'cli/prec', '1', appImage('p'));
  const dirs = { global: join(sb.root, 'c-global'), project: join(sb.root, 'c-project'), env: join(sb.root, 'c-env'), flag: join(sb.root, 'c-flag') };
  const policyAndDir = async (args: string[], env: Record<string, string> = {}) => {
    const r = await sb.run(['pull', '--json', ...args, ref], { env });
    t.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as PullJson;
    return { policy: o.policy, dir: Object.entries(dirs).find(([, d]) => o.rootfs.startsWith(d + '/'))?.[0] ?? o.rootfs };
  };

  const def = await policyAndDir([]);
  t.equal(def.policy, 'if-not-present', 'default policy');
  t.ok(def.dir.startsWith(join(sb.home, '.cache', 'broodbox')), 'default cache dir is under $XDG_CACHE_HOME/broodbox');

  await sb.write(sb.globalConfig, `image:\n  pull: always\ncache:\n  dir: ${dirs.global}\n`);
  t.same(await policyAndDir([]), { policy: 'always', dir: 'global' }, 'global beats default');

  await sb.write(join(sb.project, '.broodbox.yaml'), `image:\n  pull: background\ncache:\n  dir: ../c-project\n`);
  t.same(await policyAndDir([]), { policy: 'background', dir: 'project' }, 'project beats global (relative dir from the file)');

  const env = { BBOX_PULL: 'if-not-present', BBOX_CACHE_DIR: dirs.env };
  t.same(await policyAndDir([], env), { policy: 'if-not-present', dir: 'env' }, 'env beats project');

  t.same(await policyAndDir(['--pull', 'always', '--cache-dir', dirs.flag], env), { policy: 'always', dir: 'flag' }, 'flag beats env');

  const other = await sb.write(join(sb.root, 'other.yaml'), 'image:\n  pull: never\n');
  t.same(await policyAndDir(['--config', other]), { policy: 'never', dir: 'global' }, '--config replaces the project file, the global one still applies');
});

t.test('cache list, gc (dry run first) and purge', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const c = ['--cache-dir', sb.cacheDir];
  const ref = `${reg.host}/cli/list:1`;
  const other = `${reg.host}/cli/list:2`;
  const old = await push(reg, 'cli/list', '1', appImage('a'));
  await push(reg, 'cli/list', '2', appImage('a'));
  t.equal((await sb.run(['pull', ...c, ref])).code, 0);
  t.equal((await sb.run(['pull', ...c, other])).code, 0);
  await push(reg, 'cli/list', '1', appImage('b'));
  await push(reg, 'cli/list', '2', appImage('b'));
  t.equal((await sb.run(['pull', ...c, '--pull', 'always', ref])).code, 0);
  t.equal((await sb.run(['pull', ...c, '--pull', 'always', other])).code, 0);

  const list = await sb.run(['cache', 'list', ...c]);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^DIGEST +SIZE +LAST USED +IMAGE\n/);
  t.match(list.stdout, new RegExp(`${old.slice(7, 19)} .*\\(orphan\\)`), 'the old digest is an orphan');
  t.match(list.stdout, /\(\+1 more\)/, 'two refs on one entry: the first and "1 more"');
  t.match(list.stdout, /\n2 entries, 1 orphan; rootfs .+, layer store .+, total .+\n$/);

  const json = JSON.parse((await sb.run(['cache', 'list', ...c, '--json'])).stdout) as { entries: Array<{ digest: string; orphan: boolean; refs: string[] }>; summary: Record<string, number> };
  t.equal(json.entries.length, 2);
  t.same(json.entries.find((e) => e.digest === old)?.refs, []);
  t.equal(json.summary.orphans, 1);

  const dry = await sb.run(['cache', 'gc', ...c, '--dry-run', '--json']);
  t.equal(dry.code, 0);
  const dryReport = JSON.parse(dry.stdout) as { dryRun: boolean; removed: Array<{ kind: string; id: string; bytes: number }>; bytesFreed: number };
  t.equal(dryReport.dryRun, true);
  t.ok(dryReport.removed.some((r) => r.kind === 'entry' && r.id === old), 'the orphan would be removed');
  t.ok(dryReport.bytesFreed > 0);
  t.equal(JSON.parse((await sb.run(['cache', 'list', ...c, '--json'])).stdout).entries.length, 2, 'a dry run removes nothing');

  const gc = await sb.run(['cache', 'gc', ...c]);
  t.equal(gc.code, 0);
  t.match(gc.stdout, /^Removed:\n/);
  t.match(gc.stdout, /Removed \d+ items?, freed .+\.\n$/);
  const afterGc = await sb.run(['cache', 'list', ...c]);
  t.match(afterGc.stdout, /\n1 entry, 0 orphans;/);

  const refused = await sb.run(['cache', 'purge', ...c]);
  t.equal(refused.code, 2, 'purge without a terminal and without --force is refused');
  t.equal(refused.stderr, `bbox: refusing to purge the cache at ${sb.cacheDir} without confirmation\nhint: pass --force to purge without a terminal to confirm on\n`);
  t.match((await sb.run(['cache', 'list', ...c])).stdout, /\n1 entry/, 'nothing was removed');

  const purge = await sb.run(['cache', 'purge', ...c, '--force']);
  t.equal(purge.code, 0, purge.stderr);
  t.match(purge.stdout, /^Purged .+: .+ freed\.\n$/);
  t.match((await sb.run(['cache', 'list', ...c])).stdout, /holds no images\.\n0 entries, 0 orphans/);
});
