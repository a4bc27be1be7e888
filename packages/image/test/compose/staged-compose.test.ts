import { join } from 'node:path';
import t from 'tap';
import {
  buildImage,
  diffTrees,
  inspectCacheDir,
  makeLayer,
  makeVictim,
  pushImage,
  randomLayerStack,
  SeededRandom,
  snapshotTree,
  startRegistry,
  tempDir,
  victimChanges,
  victimState,
  type TarEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher, type PullResult } from '../../src/pull/pull.js';

// An image whose bottom layers are already stored is composed in two halves: the stored layers'
// tree while the others download, then only what the upper layers change. Whatever the layers
// do (whiteouts, opaque directories, a file becoming a directory, hardlinks into lower layers),
// the result must be the tree a pull into an empty cache makes, down to modes, mtimes and
// which paths share an inode. Seeded random stacks, as in random-stacks.test.ts.

const COUNT = Number(process.env.BBOX_STAGED_STACKS ?? 24);
const SEED = Number(process.env.BBOX_RANDOM_SEED ?? 20261125) + 500_000;

const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-staged-');

type PullError = Error & { code?: string };
type Outcome = PullResult | PullError;

async function pull(ref: string, cacheDir: string): Promise<Outcome> {
  return pullWithFetcher(ref, { cache: new Cache(cacheDir), platform: 'linux/amd64' }).catch((err: PullError) => err);
}

/** Pushes the whole stack and its bottom `lower` layers as two tags of one repository. */
async function pushPair(repo: string, layers: TarEntry[][], lower: number): Promise<{ full: string; bottom: string }> {
  const built = layers.map((entries) => makeLayer(entries));
  await pushImage(reg.url, repo, buildImage({ layers: built }), { tag: 'full' });
  await pushImage(reg.url, repo, buildImage({ layers: built.slice(0, lower) }), { tag: 'bottom' });
  return { full: `${reg.host}/${repo}:full`, bottom: `${reg.host}/${repo}:bottom` };
}

t.test(`${COUNT} stacks: a pull on stored bottom layers equals a pull into an empty cache (seed ${SEED})`, async (t) => {
  let staged = 0;
  for (let i = 0; i < COUNT; i++) {
    const seed = SEED + i;
    const stack = randomLayerStack({ seed, layers: [2, 5] });
    const lower = new SeededRandom(seed).int(1, stack.layers.length - 1);
    const refs = await pushPair(`staged/ok${seed}`, stack.layers, lower);
    const fresh = await pull(refs.full, join(base, `fresh-${seed}`));
    const cacheDir = join(base, `staged-${seed}`);
    const first = await pull(refs.bottom, cacheDir);
    const second = await pull(refs.full, cacheDir);
    if (fresh instanceof Error || first instanceof Error || second instanceof Error) {
      t.fail(`seed ${seed}: a pull failed`, { fresh: String(fresh), first: String(first), second: String(second) });
      continue;
    }
    t.ok(second.stats.layersReused >= 1 && second.stats.layersFetched >= 1, `seed ${seed}: the second pull reused the stored bottom layers and fetched the rest`);
    t.type(second.stats.pathsKept, 'number', `seed ${seed}: the second pull composed in two halves`);
    const diffs = diffTrees(await snapshotTree(fresh.path), await snapshotTree(second.path));
    t.same(diffs, [], `seed ${seed}: same tree (${lower} of ${stack.layers.length} layers stored first)`);
    if (diffs.length === 0) staged++;
  }
  t.equal(staged, COUNT, `${staged} of ${COUNT} staged pulls equal a pull into an empty cache`);
});

t.test('only what the new top layer changes is touched', async (t) => {
  const files = (dir: string, n: number, content: string): TarEntry[] => [
    { path: `${dir}/`, type: 'dir' },
    ...Array.from({ length: n }, (_, i): TarEntry => ({ path: `${dir}/f${i}`, type: 'file', content: `${content} ${i}\n` })),
  ];
  const baseLayer: TarEntry[] = [...files('usr', 200, 'base'), { path: 'etc/', type: 'dir' }, { path: 'etc/conf', type: 'file', content: 'v1\n' }];
  const v1: TarEntry[] = [...files('app', 20, 'v1')];
  const v2: TarEntry[] = [...files('app', 20, 'v2'), { path: 'etc/conf', type: 'file', content: 'v2\n' }, { path: 'usr/.wh.f0', type: 'file', content: '' }];
  const layers = [baseLayer, v1, v2].map((entries) => makeLayer(entries));
  await pushImage(reg.url, 'staged/top', buildImage({ layers: layers.slice(0, 2) }), { tag: 'v1' });
  await pushImage(reg.url, 'staged/top', buildImage({ layers: [layers[0]!, layers[2]!] }), { tag: 'v2' });
  const cacheDir = join(base, 'top');
  await pull(`${reg.host}/staged/top:v1`, cacheDir);
  const got = await pull(`${reg.host}/staged/top:v2`, cacheDir);
  const fresh = await pull(`${reg.host}/staged/top:v2`, join(base, 'top-fresh'));
  if (got instanceof Error || fresh instanceof Error) throw got instanceof Error ? got : fresh;
  t.equal(got.stats.layersFetched, 1, 'one layer fetched');
  // The base layer's 200 files, usr/, etc/ and etc/conf minus the whited-out usr/f0 and the replaced etc/conf.
  t.equal(got.stats.pathsKept, 201, 'the base layer\'s paths stayed as the first half made them');
  t.same(diffTrees(await snapshotTree(fresh.path), await snapshotTree(got.path)), [], 'same tree as a pull into an empty cache');
});

t.test('hostile stacks: a staged pull fails or succeeds like a fresh one and never touches the host', async (t) => {
  const victim = join(base, 'victim');
  await makeVictim(victim);
  for (let i = 0; i < Math.ceil(COUNT / 2); i++) {
    const seed = SEED + 100_000 + i;
    const stack = randomLayerStack({ seed, hostile: true, victim, layers: [2, 5] });
    const lower = new SeededRandom(seed).int(1, stack.layers.length - 1);
    const refs = await pushPair(`staged/evil${seed}`, stack.layers, lower);
    const before = await victimState(victim);
    const fresh = await pull(refs.full, join(base, `evil-fresh-${seed}`));
    const cacheDir = join(base, `evil-staged-${seed}`);
    const first = await pull(refs.bottom, cacheDir);
    const second = await pull(refs.full, cacheDir);
    if (first instanceof Error) {
      t.ok(fresh instanceof Error, `seed ${seed}: the bottom layers alone fail, so does the whole image`);
    } else if (fresh instanceof Error) {
      t.equal(second instanceof Error ? second.code : 'succeeded', fresh.code, `seed ${seed}: the staged pull fails with the fresh pull's code`);
    } else if (second instanceof Error) {
      t.fail(`seed ${seed}: the staged pull failed (${second.code ?? ''} ${second.message}) where the fresh one succeeded`);
    } else {
      t.same(diffTrees(await snapshotTree(fresh.path), await snapshotTree(second.path)), [], `seed ${seed}: same tree as the fresh pull`);
    }
    t.same(victimChanges(before, await victimState(victim)), [], `seed ${seed}: the victim directory is unchanged`);
    const inv = await inspectCacheDir(cacheDir);
    t.same({ problems: inv.problems, tmp: inv.tmp }, { problems: [], tmp: [] }, `seed ${seed}: cache consistent, nothing left in tmp/`);
  }
});
