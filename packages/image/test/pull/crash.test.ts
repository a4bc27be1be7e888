import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  buildImage,
  diffTrees,
  inspectCacheDir,
  makeLayer,
  planCrashTrials,
  pushImage,
  snapshotTree,
  spawnKillable,
  startProxy,
  startRegistry,
  tempDir,
  type CrashTrial,
  type FaultRule,
  type KillableChild,
  type TarEntry,
  type TreeEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { tryLock } from '../../src/cache/lock.js';
import { pullWithFetcher } from '../../src/pull/pull.js';

// kill -9 of `bbox pull` at seeded points of a cold pull: while the manifest hangs, inside a layer
// download at a seeded byte offset (the proxy holds the response there, and the kill waits for the
// proxy to report those bytes sent), or at a seeded delay after the downloads, while layers are
// applied and published. After each kill: no partial entry, no dangling ref; the next pull succeeds
// with the right tree and the dead process's tmp dirs are gone.
// BBOX_CRASH_TRIALS and BBOX_CRASH_SEED widen the search.

const TRIALS = Number(process.env.BBOX_CRASH_TRIALS ?? 20);
const SEED = Number(process.env.BBOX_CRASH_SEED ?? 7331);
const BBOX = fileURLToPath(new URL('../../../cli/bin/bbox.js', import.meta.url));

const reg = await startRegistry();
t.teardown(() => reg.stop());
const proxy = await startProxy({ target: reg.url });
t.teardown(() => proxy.stop());
const base = await tempDir(t, 'bbox-crash-');

function manyFiles(n: number): TarEntry[] {
  const out: TarEntry[] = [{ path: 'usr/', type: 'dir' }, { path: 'usr/share/', type: 'dir' }];
  for (let d = 0; d < n / 50; d++) {
    out.push({ path: `usr/share/d${d}/`, type: 'dir' });
    for (let f = 0; f < 50; f++) out.push({ path: `usr/share/d${d}/f${f}`, type: 'file', content: `file ${d}/${f}\n` });
  }
  out.push({ path: 'usr/share/d0/hard', type: 'hardlink', linkname: 'usr/share/d0/f0' });
  return out;
}

const layers = [
  makeLayer([{ path: 'bin/', type: 'dir' }, { path: 'bin/blob', type: 'file', content: randomBytes(600_000), mode: 0o755 }]),
  makeLayer(manyFiles(600)),
  makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/blob', type: 'file', content: randomBytes(300_000) }, { path: 'bin/.wh.blob', type: 'file', content: '' }]),
];
const img = buildImage({ layers, config: { Cmd: ['/bin/sh'] } });
await pushImage(reg.url, 'crash/app', img, { tag: 'v1' });
const REF = `${proxy.host}/crash/app:v1`;
const blobRe = (i: number) => new RegExp(`/blobs/${layers[i]!.digest}$`);

const reference: TreeEntry[] = await (async () => {
  const got = await pullWithFetcher(`${reg.host}/crash/app:v1`, { cache: new Cache(join(base, 'reference')), platform: 'linux/amd64' });
  return snapshotTree(got.path);
})();

function startPull(cacheDir: string): KillableChild {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(base, 'home'), XDG_CONFIG_HOME: join(base, 'home', '.config') };
  for (const k of Object.keys(env)) if (k.startsWith('BBOX_')) delete env[k];
  return spawnKillable(process.execPath, [BBOX, 'pull', '--quiet', '--cache-dir', cacheDir, '--platform', 'linux/amd64', REF], { env, timeoutMs: 60_000 });
}

function rulesFor(trial: CrashTrial): FaultRule[] {
  const p = trial.point;
  if (p.kind === 'manifest') return [{ path: /\/manifests\//, every: true, fault: { kind: 'stall' } }];
  if (p.kind === 'blob') return [{ method: 'GET', path: blobRe(p.blob), times: 1, fault: { kind: 'stall', afterBytes: p.afterBytes } }];
  return [];
}

/** Resolves when the trial's kill point is reached (the proxy says so), or when the child exits first. */
async function reachPoint(trial: CrashTrial, child: KillableChild): Promise<string> {
  const p = trial.point;
  const reached =
    p.kind === 'manifest'
      ? proxy.waitFor((rs) => rs.some((r) => /\/manifests\//.test(r.path)), 30_000)
      : p.kind === 'blob'
        ? proxy.waitFor((rs) => rs.some((r) => r.faults.length > 0 && r.bytesOut >= p.afterBytes), 30_000)
        : proxy
            .waitFor((rs) => layers.every((_, i) => rs.some((r) => r.method === 'GET' && blobRe(i).test(r.path) && r.done)), 30_000)
            // The seeded offset after the downloads: the child is decompressing, composing or publishing.
            .then(() => new Promise((r) => setTimeout(r, p.delayMs)));
  return Promise.race([reached.then(() => 'reached'), child.exited.then(() => 'exited')]);
}

const figures = { trials: 0, killedMidway: 0, finishedFirst: 0, leftovers: 0 };

for (const trial of planCrashTrials(SEED, TRIALS, layers.map((l) => l.size))) {
  t.test(`trial ${trial.index}: kill -9 at ${JSON.stringify(trial.point)}`, async (t) => {
    const cacheDir = join(base, `cache-${trial.index}`);
    await mkdir(join(base, 'home'), { recursive: true });
    proxy.clear();
    proxy.setFaults(rulesFor(trial));
    const child = startPull(cacheDir);
    const how = await reachPoint(trial, child);
    const exit = await child.kill9();
    proxy.setFaults([]);
    figures.trials++;
    if (how === 'exited' || exit.signal !== 'SIGKILL') {
      figures.finishedFirst++;
      t.equal(exit.code, 0, `a pull that ended before the kill succeeded (${child.stderr().trim()})`);
    } else figures.killedMidway++;

    const after = await inspectCacheDir(cacheDir);
    t.same(after.problems, [], 'after the kill: no partial entry, no ref to a missing entry');
    for (const r of after.refs) t.equal(r.digest, img.digest, `ref ${r.ref} points at the image`);
    const dead = after.tmp.filter((n) => n.includes(`.${child.pid}-`));
    figures.leftovers += dead.length;

    // The killed process's locks are taken over at once (its pid is dead), at the default stale time.
    const got = await pullWithFetcher(REF, { cache: new Cache(cacheDir), platform: 'linux/amd64' });
    t.equal(got.digest, img.digest, 'the next pull succeeds');
    t.same(diffTrees(reference, await snapshotTree(got.path)), [], 'with the same tree as an uninterrupted pull');
    const final = await inspectCacheDir(cacheDir);
    t.same(final.problems, [], 'the cache is consistent');
    t.same(final.tmp.filter((n) => n.includes(`.${child.pid}-`)), [], "the killed process's tmp dirs are cleaned at the next open");
    t.same(final.refs.map((r) => r.digest), [img.digest], 'one ref, to the complete entry');
    // A lock the next pull did not need stays until someone needs it, who takes it over at once.
    for (const file of await readdir(join(cacheDir, 'locks'))) {
      const release = await tryLock(join(cacheDir, 'locks'), file.replace(/\.lock$/, '').replace('-sha256-', '-sha256:'));
      t.match(release?.takeover, { reason: 'dead', owner: { pid: child.pid } }, `${file} was the killed process's, and is taken over`);
      await release?.();
    }
    const layerDirs = (await readdir(join(cacheDir, 'layers'))).filter((n) => !n.endsWith('.json')).sort();
    t.same(layerDirs, layers.map((l) => l.diffID.replace(':', '-')).sort(), 'exactly the image layers in the store');
  });
}

t.test('summary', async (t) => {
  t.equal(figures.trials, TRIALS, 'every trial ran');
  t.ok(figures.killedMidway >= Math.ceil(TRIALS / 2), 'most trials killed the pull midway');
  t.comment(`crash safety: ${figures.trials} kill -9 trials (seed ${SEED}), ${figures.killedMidway} killed mid-pull, ${figures.finishedFirst} finished first, ${figures.leftovers} tmp leftovers all cleaned at the next open`);
});
