import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  buildImage,
  diffTrees,
  inspectCacheDir,
  makeLayer,
  pushImage,
  SeededRandom,
  snapshotTree,
  spawnKillable,
  startRegistry,
  tempDir,
  type BuiltImage,
  type TreeEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher } from '../../src/pull/pull.js';

// Concurrency soak: several `bbox pull` processes on several images under mixed policies, while
// other processes run `bbox cache gc`, `bbox cache purge --force` and an LRU evict, all on one cache,
// for a bounded time (BBOX_SOAK_MS; 60 s in CI, 15 s otherwise). No command may fail except with a
// documented error, and afterwards the cache invariants hold and every image pulls correctly.

const SOAK_MS = Number(process.env.BBOX_SOAK_MS ?? (process.env.CI ? 60_000 : 15_000));
const SEED = Number(process.env.BBOX_SOAK_SEED ?? 4242);
const PULLERS = Number(process.env.BBOX_SOAK_PULLERS ?? 3);
const CLI_DIR = fileURLToPath(new URL('../../../cli', import.meta.url));
const BBOX = join(CLI_DIR, 'bin', 'bbox.js');

const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-soak-');
const cacheDir = join(base, 'cache');

const shared = makeLayer([{ path: 'usr/', type: 'dir' }, { path: 'usr/base', type: 'file', content: randomBytes(200_000) }]);
const top = (name: string) => makeLayer([{ path: 'etc/', type: 'dir' }, { path: `etc/${name}`, type: 'file', content: randomBytes(50_000) }]);
const images: Record<string, BuiltImage> = {
  a: buildImage({ layers: [shared, top('a')] }),
  b: buildImage({ layers: [shared, top('b')] }),
  c: buildImage({ layers: [top('c')] }),
  d: buildImage({ layers: [shared, top('d1'), top('d2')] }),
};
for (const [name, img] of Object.entries(images)) await pushImage(reg.url, `soak/${name}`, img, { tag: 'v1' });
const refOf = (name: string) => `${reg.host}/soak/${name}:v1`;

const reference = new Map<string, TreeEntry[]>();
for (const name of Object.keys(images)) {
  const got = await pullWithFetcher(refOf(name), { cache: new Cache(join(base, 'reference')), platform: 'linux/amd64' });
  reference.set(name, await snapshotTree(got.path));
}

const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(base, 'home'), XDG_CONFIG_HOME: join(base, 'home', '.config') };
for (const k of Object.keys(env)) if (k.startsWith('BBOX_')) delete env[k];

interface Outcome {
  what: string;
  code: number | null;
  stderr: string;
}

async function run(args: string[]): Promise<Outcome> {
  const child = spawnKillable(process.execPath, args, { cwd: CLI_DIR, env, timeoutMs: 90_000 });
  const exit = await child.exited;
  return { what: args.slice(1).join(' '), code: exit.code, stderr: child.stderr().trim() };
}

const EVICT = `import { Cache } from '@broodbox/image'; await new Cache(process.argv[1]).evict({ maxBytes: 400000 });`;

/** Errors the design documents for this mix: a `never` pull of something purged or evicted meanwhile. */
function allowed(o: Outcome): boolean {
  if (o.code === 0) return true;
  return o.code === 3 && o.what.includes('--pull never') && /not in the cache/.test(o.stderr);
}

const POLICIES = ['if-not-present', 'always', 'never', 'max-age=2s', 'background'];

async function puller(rnd: SeededRandom, until: number, out: Outcome[]): Promise<void> {
  while (Date.now() < until) {
    const name = rnd.pick(Object.keys(images));
    out.push(await run([BBOX, 'pull', '--quiet', '--cache-dir', cacheDir, '--platform', 'linux/amd64', '--pull', rnd.pick(POLICIES), refOf(name)]));
  }
}

/** Cycles through the maintenance commands, starting at a seeded point. */
async function janitor(rnd: SeededRandom, until: number, out: Outcome[]): Promise<void> {
  const jobs: Array<() => Promise<Outcome>> = [
    () => run([BBOX, 'cache', 'gc', '--cache-dir', cacheDir]),
    async () => ({ ...(await run(['--input-type=module', '-e', EVICT, cacheDir])), what: 'evict' }),
    () => run([BBOX, 'cache', 'purge', '--force', '--cache-dir', cacheDir]),
    () => run([BBOX, 'cache', 'list', '--json', '--cache-dir', cacheDir]),
  ];
  for (let i = rnd.int(0, jobs.length - 1); Date.now() < until; i++) out.push(await jobs[i % jobs.length]!());
}

t.test(`soak: ${PULLERS} pullers and a janitor for ${SOAK_MS} ms`, async (t) => {
  const until = Date.now() + SOAK_MS;
  const outcomes: Outcome[] = [];
  const rnd = new SeededRandom(SEED);
  const workers = [...Array.from({ length: PULLERS }, (_, i) => puller(new SeededRandom(SEED + i + 1), until, outcomes)), janitor(rnd, until, outcomes)];
  await Promise.all(workers);

  const bad = outcomes.filter((o) => !allowed(o));
  t.same(bad, [], 'no command failed except with a documented error');
  const pulls = outcomes.filter((o) => o.what.startsWith('pull'));
  t.ok(pulls.filter((o) => o.code === 0).length > PULLERS, 'pulls succeeded throughout');
  t.comment(
    `soak: ${outcomes.length} commands in ${SOAK_MS} ms: ${pulls.length} pulls, ` +
      `${outcomes.filter((o) => o.what.startsWith('cache gc')).length} gc, ${outcomes.filter((o) => o.what.startsWith('cache purge')).length} purge, ` +
      `${outcomes.filter((o) => o.what === 'evict').length} evict; ${outcomes.filter((o) => o.code === 3).length} documented IMAGE_NOT_CACHED, ${bad.length} other failures`,
  );

  const inv = await inspectCacheDir(cacheDir);
  t.same(inv.problems, [], 'no partial entry and no ref to a missing entry');
  for (const name of Object.keys(images)) {
    const got = await pullWithFetcher(refOf(name), { cache: new Cache(cacheDir), platform: 'linux/amd64' });
    t.equal(got.digest, images[name]!.digest, `${name} pulls after the soak`);
    t.same(diffTrees(reference.get(name)!, await snapshotTree(got.path)), [], `${name} has the right tree`);
  }
  const after = await inspectCacheDir(cacheDir);
  t.same(after.tmp, [], 'no tmp leftovers once every process has ended');
  t.same(after.problems, [], 'still consistent');
});
