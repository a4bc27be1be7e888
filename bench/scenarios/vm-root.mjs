// Issue 19: what booting an image costs beyond pulling it. Two sides, interleaved, one per way the
// guest gets its root: `share` (the default: the rootfs over virtio-fs under an overlay in guest
// memory) and `disk` (BBOX_VM_ROOT=disk: an ext4 copy of the rootfs built on the first run). Each
// sample starts from an empty cache: a cold pull of the reference image, its first `bbox run --
// true`, a warm one; then the pull of a second image that shares three of its four layers
// (bench/debian:app), its first run and a warm one. `du -sk` of the cache is taken between steps.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPullOutput, cliMissing, timeBbox } from '../lib/bbox.mjs';
import { interleave, NotMeasuredError } from '../lib/interleave.mjs';
import { median, runQuiet } from '../lib/measure.mjs';
import { atMost, makeRow } from '../lib/rows.mjs';

const MODES = [
  ['share', 'rootfs shared over virtio-fs (default)'],
  ['disk', 'ext4 disk image of the rootfs (BBOX_VM_ROOT=disk)'],
];

async function duKiB(path) {
  const { stdout } = await runQuiet(['du', '-sk', path]);
  return Number(stdout.split('\t')[0]);
}

/** One sample: the steps above, timed, with the cache's size between them. */
async function sample(ctx, mode, dir) {
  const env = { BBOX_VM_ROOT: mode };
  const cache = join(dir, 'cache');
  await mkdir(cache, { recursive: true });
  const bbox = (args) => timeBbox(ctx, args, { extraEnv: env, treeRss: true });
  const pull = async (image) => {
    const res = await bbox(['pull', '--json', '--cache-dir', cache, image.ref]);
    return { ms: res.wallMs, out: checkPullOutput(res.stdout, { digest: image.digest }) };
  };
  const run = async (image) => (await bbox(['run', '--cache-dir', cache, '--cpus', '1', image.ref, '--', 'true'])).wallMs;
  const image = async (img) => {
    const pulled = await pull(img);
    const before = await duKiB(cache);
    const first = await run(img);
    const after = await duKiB(cache);
    const warm = await run(img);
    return { pullMs: pulled.ms, firstMs: first, warmMs: warm, extraMs: first - warm, diskKiB: after - before, rootfsKiB: await duKiB(pulled.out.rootfs) };
  };
  const big = await image(ctx.reference.big);
  const app = await image(ctx.reference.app);
  return {
    wallMs: big.extraMs,
    ...big,
    ...Object.fromEntries(Object.entries(app).map(([k, v]) => [`second${k[0].toUpperCase()}${k.slice(1)}`, v])),
  };
}

const med = (side, key) => (side.measured ? median(side.samples.map((s) => s[key])) : undefined);
const div = (a, b) => (a !== undefined && b ? a / b : undefined);

export async function vmRoot(ctx) {
  const { runs } = ctx.plan.heavy;
  ctx.log(`first run after a pull, shared root vs disk root, ${ctx.reference.big.ref} then ${ctx.reference.app.ref}`);
  const unavailable = cliMissing();
  const sides = MODES.map(([mode, label]) => ({
    id: mode,
    label: `${label}: first run minus a warm run`,
    unavailable,
    run: async () => {
      const dir = join(ctx.workDir, `vm-root-${mode}`);
      try {
        return await sample(ctx, mode, dir);
      } catch (err) {
        throw err instanceof NotMeasuredError ? err : new NotMeasuredError(String(err?.message ?? err));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  }));
  // Every sample starts from an empty cache: no warm-up round.
  const [share, disk] = await interleave({ sides, runs, warmup: 0, log: ctx.log, deadline: ctx.deadline });
  const fig = (side) => ({
    pullMs: med(side, 'pullMs'),
    firstRunMs: med(side, 'firstMs'),
    warmRunMs: med(side, 'warmMs'),
    extraVsPull: div(med(side, 'extraMs'), med(side, 'pullMs')),
    diskKiB: med(side, 'diskKiB'),
    rootfsKiB: med(side, 'rootfsKiB'),
    diskVsRootfs: div(med(side, 'diskKiB'), med(side, 'rootfsKiB')),
    secondPullMs: med(side, 'secondPullMs'),
    secondExtraVsPull: div(med(side, 'secondExtraMs'), med(side, 'secondPullMs')),
    secondDiskKiB: med(side, 'secondDiskKiB'),
    secondDiskVsRootfs: div(med(side, 'secondDiskKiB'), med(side, 'secondRootfsKiB')),
    secondRootfsKiB: med(side, 'secondRootfsKiB'),
  });
  const [s, d] = [fig(share), fig(disk)];
  const note = `Disk root (the previous design), same run: first run ${fmt(d.extraVsPull)} of its pull beyond a warm run; its disk ${fmt(d.diskVsRootfs)} of the rootfs; the second image's first run ${fmt(d.secondExtraVsPull)} of its pull, with a disk ${fmt(d.secondDiskVsRootfs)} of its rootfs.`;
  const second = { ...share, wallMs: share.extra?.secondExtraMs };
  const secondDisk = { ...disk, wallMs: disk.extra?.secondExtraMs };
  const ms = (v) => (v === undefined ? 'not measured' : v >= 1000 || v <= -1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
  const kib = (v) => (v === undefined ? 'not measured' : v >= 1024 * 1024 ? `${(v / 1024 / 1024).toFixed(2)} GiB` : v >= 1024 ? `${(v / 1024).toFixed(1)} MiB` : `${v} KiB`);
  const extra = (f, pullKey, extraKey) => `${ms(f[extraKey])} beyond a warm run (pull ${ms(f[pullKey])})`;
  s.extraMs = med(share, 'extraMs');
  d.extraMs = med(disk, 'extraMs');
  s.secondExtraMs = med(share, 'secondExtraMs');
  d.secondExtraMs = med(disk, 'secondExtraMs');
  return [
    makeRow({
      id: 'vm-root-first-run',
      scenario: 'first `bbox run … -- true` after a cold pull of the reference image: time beyond a warm run (shared root vs disk root)',
      target: 'issue 19: ≤ 0.1x the cold pull',
      bbox: share,
      peers: [disk],
      figures: { share: s, disk: d },
      checks: [atMost('extra time of the first run / cold pull', s.extraVsPull, 0.1)],
      cells: {
        bbox: extra(s, 'pullMs', 'extraMs'),
        peers: `disk root: ${extra(d, 'pullMs', 'extraMs')}`,
        ratio: `${fmt(s.extraVsPull)} of the pull<br>disk root: ${fmt(d.extraVsPull)}`,
      },
      notes: [note],
    }),
    makeRow({
      id: 'vm-root-disk',
      scenario: 'disk per booted image: cache size after the first run minus after the pull, vs the rootfs (reference image)',
      target: 'issue 19: ≤ 5% of the rootfs',
      bbox: share,
      peers: [disk],
      figures: { shareDiskKiB: s.diskKiB, diskDiskKiB: d.diskKiB, rootfsKiB: s.rootfsKiB },
      checks: [atMost('added disk / rootfs', s.diskVsRootfs, 0.05)],
      cells: {
        bbox: `${kib(s.diskKiB)} (rootfs ${kib(s.rootfsKiB)})`,
        peers: `disk root: ${kib(d.diskKiB)}`,
        ratio: `${fmt(s.diskVsRootfs)} of the rootfs<br>disk root: ${fmt(d.diskVsRootfs)}`,
      },
    }),
    makeRow({
      id: 'vm-root-second-image',
      scenario: 'a second image sharing three of four layers (bench/debian:app): its first run beyond a warm run, vs its own pull',
      target: 'issue 19: ≤ 0.1x its own pull; reuses the base layers',
      bbox: second.wallMs ? second : share,
      peers: secondDisk.wallMs ? [secondDisk] : [disk],
      figures: { share: s, disk: d },
      checks: [atMost('extra time of the first run / its pull', s.secondExtraVsPull, 0.1), atMost('added disk / its rootfs', s.secondDiskVsRootfs, 0.05)],
      cells: {
        bbox: `${extra(s, 'secondPullMs', 'secondExtraMs')}; disk added ${kib(s.secondDiskKiB)}`,
        peers: `disk root: ${extra(d, 'secondPullMs', 'secondExtraMs')}; disk added ${kib(d.secondDiskKiB)}`,
        ratio: `${fmt(s.secondExtraVsPull)} of its pull<br>disk root: ${fmt(d.secondExtraVsPull)}`,
      },
    }),
  ];
}

function fmt(v) {
  return v === undefined ? 'not measured' : v < 0.1 ? `${(v * 100).toFixed(1)}%` : `${v.toFixed(2)}x`;
}
