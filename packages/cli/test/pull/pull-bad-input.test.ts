import { join } from 'node:path';
import t from 'tap';
import { buildImage, diffTrees, freePort, makeLayer, pushImage, snapshotTree, startRegistry, type TreeEntry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';

// Bad input as a user meets it: `bbox` as a subprocess. Each mistake gives a non-zero exit with the
// documented code, a message on stderr (first line `bbox: …`, at most a hint after it, no stack
// trace), nothing on stdout, and the cache exactly as it was.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const authReg = await startRegistry({ auth: { kind: 'htpasswd', users: { alice: 'secret' } } });
t.teardown(() => authReg.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());

const good = buildImage({ layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/ok', type: 'file', content: 'ok\n' }])] });
await pushImage(reg.url, 'bad/good', good, { tag: 'v1' });
await pushImage(authReg.url, 'bad/private', good, { tag: 'v1', auth: { username: 'alice', password: 'secret' } });
const many = buildImage({ layers: Array.from({ length: 2000 }, () => good.layers[0]!) });
await pushImage(reg.url, 'bad/many-layers', many, { tag: 'v1' });
const foreign = buildImage({ layers: [makeLayer([{ path: 'x', type: 'file', content: 'x' }], { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' })] });
await pushImage(reg.url, 'bad/foreign', foreign, { tag: 'v1' });
const corruptDiff = buildImage({ layers: good.layers, editConfig: (c) => ({ ...c, rootfs: { type: 'layers', diff_ids: [`sha256:${'e'.repeat(64)}`] } }) });
await pushImage(reg.url, 'bad/diffid', corruptDiff, { tag: 'v1' });
const closedPort = await freePort();

const cacheArgs = ['--cache-dir', sb.cacheDir];
const pull = (...args: string[]) => ['pull', ...cacheArgs, '--platform', 'linux/amd64', ...args];
const GOOD = `${reg.host}/bad/good:v1`;
// A cache dir where mkdir cannot work must fail at once (Node's recursive mkdir spins under /proc).
const fileInTheWay = await sb.write(join(sb.root, 'a-file'), 'not a directory\n');
const badCacheDir = (dir: string) => ['pull', '--cache-dir', dir, '--platform', 'linux/amd64', GOOD];

const first = await sb.run(pull(GOOD));
if (first.code !== 0) throw new Error(`seeding the cache failed: ${first.stderr}`);

interface CliCase {
  name: string;
  args: string[];
  /** Expected exit code (docs/cli.md). */
  exit: number;
  /** A word the message must contain (the thing named). */
  names: RegExp;
  /** Config file content written to the project before the run. */
  config?: string;
  env?: Record<string, string>;
}

const cases: CliCase[] = [
  { name: 'malformed reference (upper case)', args: pull(`${reg.host}/Bad/Good:v1`), exit: 2, names: /Bad\/Good/ },
  { name: 'malformed reference (empty tag)', args: pull(`${reg.host}/bad/good:`), exit: 2, names: /bad\/good/ },
  { name: 'malformed reference (short digest)', args: pull(`${reg.host}/bad/good@sha256:abc`), exit: 2, names: /sha256:abc/ },
  { name: 'unknown pull policy', args: pull('--pull', 'sometimes', GOOD), exit: 2, names: /sometimes/ },
  { name: 'bad max-age duration', args: pull('--pull', 'max-age=soon', GOOD), exit: 2, names: /soon/ },
  { name: 'bad platform', args: ['pull', ...cacheArgs, '--platform', 'linux', GOOD], exit: 2, names: /linux/ },
  { name: 'bad platform (too many parts)', args: ['pull', ...cacheArgs, '--platform', 'linux/amd64/v1/x', GOOD], exit: 2, names: /linux\/amd64\/v1\/x/ },
  { name: 'unknown policy from the environment', args: pull(GOOD), env: { BBOX_PULL: 'often' }, exit: 2, names: /often/ },
  { name: 'config file: unknown key', args: pull(GOOD), config: 'image:\n  pul: never\n', exit: 2, names: /pul/ },
  { name: 'config file: bad policy value', args: pull(GOOD), config: 'image:\n  pull: sometimes\n', exit: 2, names: /sometimes/ },
  { name: 'config file: not YAML', args: pull(GOOD), config: 'image: [unclosed\n', exit: 2, names: /broodbox/ },
  { name: 'never, not cached', args: pull('--pull', 'never', `${reg.host}/bad/other:v1`), exit: 3, names: /bad\/other/ },
  { name: 'unknown tag', args: pull(`${reg.host}/bad/good:nope`), exit: 4, names: /nope/ },
  { name: 'auth refused', args: pull(`${authReg.host}/bad/private:v1`), exit: 4, names: /bad\/private|127\.0\.0\.1/ },
  { name: 'registry down', args: pull(`127.0.0.1:${closedPort}/bad/good:v1`), exit: 4, names: new RegExp(String(closedPort)) },
  { name: 'absurd layer count', args: pull(`${reg.host}/bad/many-layers:v1`), exit: 5, names: /2000/ },
  { name: 'non-distributable layer', args: pull(`${reg.host}/bad/foreign:v1`), exit: 1, names: /non-distributable|nondistributable/ },
  { name: 'config lies about the diffID', args: pull(`${reg.host}/bad/diffid:v1`), exit: 5, names: /diffID|diff_id/i },
  { name: 'cache dir under /proc', args: badCacheDir('/proc/bbox-cache'), exit: 2, names: /\/proc\/bbox-cache\b.*ENOENT/ },
  { name: 'cache dir deep under /proc', args: badCacheDir('/proc/bbox-cache/a/b'), exit: 2, names: /\/proc\/bbox-cache\/a\/b\b/ },
  { name: 'cache dir under /sys', args: badCacheDir('/sys/bbox-cache'), exit: 2, names: /\/sys\/bbox-cache\b/ },
  { name: 'cache dir below a file', args: badCacheDir(join(fileInTheWay, 'cache')), exit: 2, names: /a-file\/cache\b.*ENOTDIR/ },
  { name: 'purge without --force (not a terminal)', args: ['cache', 'purge', ...cacheArgs], exit: 2, names: /force/ },
];

async function cacheState(): Promise<TreeEntry[]> {
  return (await snapshotTree(sb.cacheDir)).filter((e) => !e.path.endsWith('/last-used') && !e.path.startsWith('locks/'));
}

let clear = 0;
for (const c of cases) {
  t.test(c.name, async (t) => {
    const configPath = join(sb.project, '.broodbox.yaml');
    await sb.write(configPath, c.config ?? '{}\n');
    const before = await cacheState();
    const r = await sb.run(c.args, c.env ? { env: c.env } : {});
    const lines = r.stderr.trimEnd().split('\n');
    t.equal(r.code, c.exit, `exit code ${c.exit} (stderr: ${r.stderr.trim()})`);
    t.equal(r.stdout, '', 'nothing on stdout');
    t.match(lines[0], /^bbox: /, 'the message starts with bbox:');
    t.ok(lines.length <= 3 && lines.slice(1).every((l) => !l.startsWith('bbox:')), 'one message, maybe a hint');
    t.notMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    t.match(r.stderr, c.names, 'the message names the thing');
    t.same(diffTrees(before, await cacheState(), { ignore: ['dirMtime'] }), [], 'the cache is untouched');
    if (r.code === c.exit) clear++;
  });
}

t.test('summary', async (t) => {
  t.equal(clear, cases.length, 'every bad input ended with its exit code');
  t.comment(`bad input (CLI): ${cases.length} inputs, ${clear} with the documented exit code, cache untouched`);
});
