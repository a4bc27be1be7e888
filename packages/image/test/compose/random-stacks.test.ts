import { spawnSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import {
  buildImage,
  diffTrees,
  ESCAPE_MARKER,
  findEscapes,
  inspectCacheDir,
  makeLayer,
  makeVictim,
  pushImage,
  randomLayerStack,
  sharedInodes,
  snapshotTree,
  startRegistry,
  tempDir,
  victimChanges,
  victimState,
  writeOciLayout,
  type TreeEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher } from '../../src/pull/pull.js';

// Seeded random layer stacks (links, whiteouts, type changes across layers). Applicable stacks must
// give exactly the tree `umoci raw unpack` gives; hostile stacks must leave everything outside the
// rootfs as it was. BBOX_RANDOM_STACKS (count of each kind) and BBOX_RANDOM_SEED widen the search.

const COUNT = Number(process.env.BBOX_RANDOM_STACKS ?? 20);
const SEED = Number(process.env.BBOX_RANDOM_SEED ?? 20261125);
const ROOTFS_RE = /^caches\/[^/]+\/images\/[^/]+\/rootfs(\/|$)/;

const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-random-stacks-');
const victim = join(base, 'victim');
await makeVictim(victim);
await mkdir(join(base, 'caches'));

function umociUnpack(layout: string, dest: string): void {
  const r = spawnSync('umoci', ['raw', 'unpack', '--image', `${layout}:test`, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umoci raw unpack failed: ${r.stderr}`);
}

function withoutRoot(tree: TreeEntry[]): TreeEntry[] {
  return tree.filter((e) => e.path !== '.');
}

t.test(`${COUNT} applicable stacks match umoci raw unpack (seed ${SEED})`, async (t) => {
  let matched = 0;
  for (let i = 0; i < COUNT; i++) {
    const seed = SEED + i;
    const stack = randomLayerStack({ seed });
    const img = buildImage({ layers: stack.layers.map((entries) => makeLayer(entries)) });
    const repo = `random/ok${seed}`;
    await pushImage(reg.url, repo, img, { tag: 'v1' });
    const work = join(base, `ok-${seed}`);
    const got = await pullWithFetcher(`${reg.host}/${repo}:v1`, { cache: new Cache(join(base, 'caches', `ok-${seed}`)), platform: 'linux/amd64' }).catch(
      (err: Error & { code?: string }) => err,
    );
    if (got instanceof Error) {
      t.fail(`seed ${seed}: pull failed with ${got.code ?? ''} ${got.message}`, { layers: stack.layers });
      continue;
    }
    await writeOciLayout(join(work, 'layout'), [{ tag: 'test', image: img }]);
    umociUnpack(join(work, 'layout'), join(work, 'umoci'));
    const theirs = withoutRoot(await snapshotTree(join(work, 'umoci')));
    const ours = withoutRoot(await snapshotTree(got.path));
    const diffs = diffTrees(theirs, ours, { ignore: ['dirMtime'] });
    if (diffs.length === 0) matched++;
    else t.same(diffs, [], `seed ${seed}: same tree as umoci raw unpack`, { layers: JSON.stringify(stack.layers, (k, v: unknown) => (k === 'content' ? undefined : v)) });
  }
  t.equal(matched, COUNT, `${matched} of ${COUNT} stacks equal umoci's tree`);
});

t.test(`${COUNT} hostile stacks change nothing outside the rootfs (seed ${SEED})`, async (t) => {
  const hostRootBefore = (await readdir('/')).filter((n) => n.startsWith(ESCAPE_MARKER));
  const outcomes = { failed: 0, applied: 0 };
  for (let i = 0; i < COUNT; i++) {
    const seed = SEED + 100_000 + i;
    const stack = randomLayerStack({ seed, hostile: true, victim });
    const img = buildImage({ layers: stack.layers.map((entries) => makeLayer(entries)) });
    const repo = `random/evil${seed}`;
    await pushImage(reg.url, repo, img, { tag: 'v1' });
    const cacheDir = join(base, 'caches', `evil-${seed}`);
    const before = await victimState(victim);
    const got = await pullWithFetcher(`${reg.host}/${repo}:v1`, { cache: new Cache(cacheDir), platform: 'linux/amd64' }).catch(
      (err: Error & { code?: string }) => err,
    );
    if (got instanceof Error) {
      outcomes.failed++;
      t.match(String((got as Error & { code?: unknown }).code), /^[A-Z][A-Z0-9_]+$/, `seed ${seed}: a named error (${got.message})`);
    } else {
      outcomes.applied++;
      const special = (await snapshotTree(got.path)).filter((e) => e.type !== 'file' && e.type !== 'dir' && e.type !== 'symlink');
      t.same(special, [], `seed ${seed}: only files, dirs and symlinks in the rootfs`);
      t.same(await sharedInodes(got.path, [victim]), [], `seed ${seed}: no rootfs file is a host file`);
    }
    t.same(victimChanges(before, await victimState(victim)), [], `seed ${seed}: the victim directory is unchanged`);
    t.same(await findEscapes(base, (rel) => ROOTFS_RE.test(rel) || /^ok-/.test(rel)), [], `seed ${seed}: no escape marker outside a rootfs`);
    const inv = await inspectCacheDir(cacheDir);
    t.same(inv.problems, [], `seed ${seed}: cache consistent`);
  }
  t.same((await readdir('/')).filter((n) => n.startsWith(ESCAPE_MARKER)), hostRootBefore, 'nothing planted in /');
  t.comment(`random hostile stacks: ${COUNT} pulled, ${outcomes.failed} stopped with a named error, ${outcomes.applied} applied safely`);
});
