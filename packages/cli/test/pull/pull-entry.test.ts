import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry } from '@broodbox/testkit';
import { BBOX_BIN, makeSandbox, type BboxResult } from '../bbox-process.js';
import { appImage, push, requestsFor } from '../registry-fixture.js';
import { HANDED_OFF, entryOnlyCopy } from '../entry-copy.js';

const pkg = fileURLToPath(new URL('../..', import.meta.url));
/** The full command line, which the start-up path hands everything it cannot answer to. */
const FULL_CLI = join(pkg, 'dist', 'main.js');

t.test('the bundled entry is built from the current sources', async (t) => {
  const r = await promisify(execFile)(process.execPath, [join(pkg, 'scripts', 'bundle-pull-entry.mjs'), '--check']).catch((err: { stderr: string }) => err);
  t.equal(r.stderr, '', 'dist/pull-entry.cjs is what the build makes of the current dist (run pnpm run -s build)');
});

t.test('a pull the cache can answer is answered by the bundled entry alone; anything else is handed off', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const repo = 'cli/entry';
  const ref = `${reg.host}/${repo}:1`;
  const digest = await push(reg, repo, '1', appImage('entry'));
  const cold = await sb.run(['pull', '--cache-dir', sb.cacheDir, '--json', ref]);
  t.equal(cold.code, 0, cold.stderr);
  const rootfs = (JSON.parse(cold.stdout) as { rootfs: string }).rootfs;
  const requests = (await requestsFor(reg, repo)).length;

  const bin = await entryOnlyCopy(join(sb.root, 'entry-only'), 'pull-entry.cjs');
  const viaEntry = (...args: string[]) => sb.run(['pull', '--cache-dir', sb.cacheDir, ...args], { bin });
  const answered = async (args: string[], expect: object) => {
    const r = await viaEntry(...args, '--json');
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.same(JSON.parse(r.stdout), { ref, digest, rootfs, fromCache: true, ...expect }, `${args.join(' ')} is answered from the cache`);
  };
  await answered([ref], { policy: 'if-not-present' });
  await answered(['--pull', 'never', ref], { policy: 'never' });
  await answered(['--pull', 'max-age=1h', ref], { policy: 'max-age=1h' });
  await answered(['--platform', 'linux/amd64', ref], { policy: 'if-not-present' });
  const pinned = await viaEntry('--pull', 'always', '--json', `${reg.host}/${repo}@${digest}`);
  t.same(JSON.parse(pinned.stdout), { ref: `${reg.host}/${repo}@${digest}`, digest, rootfs, fromCache: true, policy: 'always' }, 'a pinned digest is answered from the cache whatever the policy');
  t.equal((await requestsFor(reg, repo)).length, requests, 'nothing was asked of the registry');

  const handedOff = async (what: string, args: string[], env: Record<string, string> = {}) => {
    const r = await sb.run(['pull', '--cache-dir', sb.cacheDir, ...args], { bin, env });
    t.same({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 7, stdout: HANDED_OFF, stderr: '' }, `${what}: handed off, nothing printed first`);
  };
  await handedOff('an image not cached', [`${reg.host}/${repo}:2`]);
  await handedOff('never, not cached', ['--pull', 'never', `${reg.host}/${repo}:2`]);
  await handedOff('always', ['--pull', 'always', ref]);
  await handedOff('background', ['--pull', 'background', ref]);
  await handedOff('max-age, stale', ['--pull', 'max-age=0', ref]);
  await handedOff('the deprecated --no-pull (it warns)', ['--no-pull', ref]);
  await handedOff('a bad policy (the full parser words the error)', ['--pull', 'sometimes', ref]);
  await handedOff('a policy from BBOX_PULL', [ref], { BBOX_PULL: 'always' });
  await handedOff('an unusual command line', ['--help']);
  t.equal((await requestsFor(reg, repo)).length, requests, 'the entry itself asked nothing of the registry');
});

t.test('the start-up path prints exactly what the full command line prints', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const repo = 'cli/same';
  const ref = `${reg.host}/${repo}:1`;
  const digest = await push(reg, repo, '1', appImage('same'));
  const seed = await sb.run(['pull', '--cache-dir', sb.cacheDir, ref]);
  t.equal(seed.code, 0, seed.stderr);
  const both = async (args: string[], env: Record<string, string> = {}): Promise<BboxResult> => {
    const argv = ['pull', '--cache-dir', sb.cacheDir, ...args];
    const [entry, full] = [await sb.run(argv, { bin: BBOX_BIN, env }), await sb.run(argv, { bin: FULL_CLI, env })];
    t.same(entry, full, `bbox ${argv.slice(3).join(' ')}`);
    return entry;
  };
  t.match((await both([ref])).stdout, 'cache hit, no network used');
  await both(['--json', ref]);
  await both(['-q', ref]);
  await both(['--pull', 'never', '--quiet', ref]);
  await both(['--pull', 'max-age=1h', '--json', ref]);
  await both(['--json', `${reg.host}/${repo}@${digest}`]);
  await both(['--pull', 'always', '--json', `${reg.host}/${repo}@${digest}`]);
  await both(['--json', ref], { BBOX_PULL: 'Never' });
  t.equal((await both(['--pull', 'never', `${reg.host}/${repo}:absent`])).code, 3, 'not cached under never');
  t.equal((await both(['--pull', 'sometimes', ref])).code, 2, 'a bad policy');

  await sb.write(join(sb.project, '.broodbox.yaml'), 'image:\n  pull: never\n');
  t.equal(JSON.parse((await both(['--json', ref])).stdout).policy, 'never', 'the project config applies (first read)');
  t.equal(JSON.parse((await both(['--json', ref])).stdout).policy, 'never', 'the project config applies (remembered)');
  await sb.write(join(sb.project, '.broodbox.yaml'), 'image:\n  pull: [never\n');
  t.equal((await both([ref])).code, 2, 'a broken config file');
});
