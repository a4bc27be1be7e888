// Pulls that find part of the image already cached (a new top layer, a second image on the same
// base), and two cold pulls of one image at once. All on the synthetic image of many small files.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bboxEnv, checkPullOutput, sampleOf, timeBbox, timeMeasured, CLI_BIN } from '../lib/bbox.mjs';
import { cliSide } from '../lib/cli-side.mjs';
import { interleave, ratio } from '../lib/interleave.mjs';
import { runQuiet, settleDisk } from '../lib/measure.mjs';
import { atMost, equals, makeRow } from '../lib/rows.mjs';
import { pullInto } from '../lib/warm-cache.mjs';

const short = (d) => d.slice(7, 19);

async function duKiB(dir) {
  const { stdout } = await runQuiet(['du', '-sk', dir]);
  return Number(stdout.split(/\s+/)[0]);
}

/** bbox pull of `image` into `cacheDir`, measured, counting the layers fetched. */
async function measuredPull(ctx, cacheDir, image, expectFromCache) {
  const res = await timeBbox(ctx, ['pull', '--json', '--cache-dir', cacheDir, image.ref], {
    counts: ctx.registryLog,
    layerDigests: image.layers.map((l) => l.digest),
    treeRss: true,
  });
  checkPullOutput(res.stdout, { digest: image.digest, fromCache: expectFromCache });
  return res;
}

/** A side pulling `image` into a fresh cache that first received `first` (unmeasured). */
function pullAfterSide(ctx, id, label, first, image, { measureDisk = false } = {}) {
  return cliSide(ctx, id, label, async (dir) => {
    const cache = join(dir, 'cache');
    if (first) await pullInto(ctx, cache, first);
    const before = measureDisk && first ? await duKiB(cache) : 0;
    // The cached state is one long settled, as it is for anyone pulling an update.
    await settleDisk();
    const res = await measuredPull(ctx, cache, image, false);
    const extra = {};
    if (measureDisk) extra.extraDiskKiB = (await duKiB(cache)) - before;
    return sampleOf(res, extra);
  });
}

function fetchedLayers(side) {
  const lists = (side?.samples ?? []).map((s) => (s.requests?.layersFetched ?? []).map(short).sort());
  if (!lists.length || !side?.samples?.[0]?.requests) return undefined;
  // Every measured run must have fetched the same set; report the widest.
  return lists.reduce((a, b) => (b.length > a.length ? b : a));
}

export async function topLayerChanged(ctx) {
  const v1 = ctx.synthetic.images['syn-v1'];
  const v2 = ctx.synthetic.images['syn-v2'];
  const top = v2.layers[v2.layers.length - 1];
  const { runs, warmup } = ctx.plan.medium;
  ctx.log(`new digest, only the top layer changed: ${v1.ref} cached, then ${v2.ref}`);
  const [inc, cold] = await interleave({
    sides: [
      pullAfterSide(ctx, 'bbox', 'bbox pull v2 with v1 cached', v1, v2),
      pullAfterSide(ctx, 'bbox-cold', 'bbox pull v2, empty cache', undefined, v2),
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const layers = fetchedLayers(inc);
  return [
    makeRow({
      id: 'top-layer-changed',
      scenario: 'new digest where only the top layer changed (synthetic, 30k files)',
      target: '≤ 0.35x the cold pull; bytes fetched = the new layer only',
      bbox: inc,
      peers: [cold],
      figures: { ratioVsCold: ratio(inc, cold), layersFetched: layers, layerBytesFetched: inc.requests?.layerBytes?.max, newLayerBytes: top.size },
      checks: [
        atMost('vs cold pull', ratio(inc, cold), 0.35),
        equals('layers fetched', layers, [short(top.digest)], (v) => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v))),
        equals('layer bytes fetched', inc.requests?.layerBytes?.max, top.size, (v) => `${v} B`),
      ],
    }),
  ];
}

export async function sharedBase(ctx) {
  const v1 = ctx.synthetic.images['syn-v1'];
  const other = ctx.synthetic.images['syn-other'];
  const own = other.layers[other.layers.length - 1];
  const ownDiskKiB = ctx.synthetic.layers.other.diskKiB;
  const { runs, warmup } = ctx.plan.medium;
  ctx.log(`second image sharing the base layers: ${v1.ref} cached, then ${other.ref}`);
  const [second, cold] = await interleave({
    sides: [
      pullAfterSide(ctx, 'bbox', 'bbox pull of a second image on the same base', v1, other, { measureDisk: true }),
      pullAfterSide(ctx, 'bbox-cold', 'bbox pull of that image, empty cache', undefined, other),
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const layers = fetchedLayers(second);
  const extraKiB = second.extra?.extraDiskKiB?.median;
  return [
    makeRow({
      id: 'shared-base',
      scenario: 'second image sharing the base layers (synthetic)',
      target: 'fetches and decompresses only its own layers; extra disk ≤ 1.2x its own layers',
      bbox: second,
      peers: [cold],
      figures: {
        ratioVsCold: ratio(second, cold),
        layersFetched: layers,
        extraDiskKiB: extraKiB,
        ownLayerDiskKiB: ownDiskKiB,
        extraDiskVsOwnLayers: extraKiB !== undefined ? extraKiB / ownDiskKiB : undefined,
      },
      checks: [
        equals('layers fetched', layers, [short(own.digest)], (v) => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v))),
        atMost('extra disk vs its own layers', extraKiB !== undefined ? extraKiB / ownDiskKiB : undefined, 1.2),
      ],
      notes: [`Its own layer takes ${ownDiskKiB} KiB on disk when extracted alone (du -sk).`],
    }),
  ];
}

// Two pulls of one image into one cache at the same instant; both must succeed and agree.
const TWO_PULLS = [
  'set -e',
  '"$4" "$3" pull --json --cache-dir "$1/cache" "$2" > "$1.a.json" & a=$!',
  '"$4" "$3" pull --json --cache-dir "$1/cache" "$2" > "$1.b.json" & b=$!',
  'wait $a; wait $b',
].join('\n');

export async function concurrentPulls(ctx) {
  const image = ctx.synthetic.images['syn-v1'];
  const { runs, warmup } = ctx.plan.medium;
  ctx.log(`two concurrent cold pulls of ${image.ref}`);
  const digests = image.layers.map((l) => l.digest);
  const twoSide = cliSide(
    ctx,
    'bbox',
    'two bbox pulls at once, one cache',
    async (dir) => {
      const res = await timeMeasured(ctx, ['bash', '-c', TWO_PULLS, 'bench', dir, image.ref, CLI_BIN, process.execPath], {
        label: 'two concurrent bbox pulls',
        counts: ctx.registryLog,
        layerDigests: digests,
        treeRss: true,
        env: await bboxEnv(ctx.benchDir),
      });
      for (const f of ['a', 'b']) checkPullOutput(await readFile(`${dir}.${f}.json`, 'utf8'), { digest: image.digest });
      return sampleOf(res);
    },
    // Each pull writes its JSON beside the directory.
    { cleanup: async (dir) => Promise.all(['a', 'b'].map((f) => rm(`${dir}.${f}.json`, { force: true }))) },
  );
  const [two, one] = await interleave({
    sides: [twoSide, pullAfterSide(ctx, 'bbox-single', 'one bbox pull, empty cache', undefined, image)],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const fetched = two.requests?.layerBytes?.max;
  if (two.measured && fetched === undefined) two.reason = 'request counts unavailable';
  return [
    makeRow({
      id: 'concurrent-pulls',
      scenario: 'two concurrent cold pulls of one image (synthetic)',
      target: 'bytes fetched once; wall ≤ 1.1x a single pull',
      bbox: two,
      peers: [one],
      figures: { ratioVsSingle: ratio(two, one), layerBytesFetched: fetched, imageLayerBytes: image.compressedBytes },
      checks: [
        equals('layer bytes fetched', fetched, image.compressedBytes, (v) => `${v} B`),
        atMost('vs a single pull', ratio(two, one), 1.1),
      ],
    }),
  ];
}

