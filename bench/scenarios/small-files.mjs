// Many small files (issue 20): a cold pull of 160k files of ~80 bytes in 4 gzip layers against
// GNU tar from local blobs, skopeo + umoci and podman (the shared peer scripts, run on the
// small-files layout), and bbox's peak RSS at 20k and at 160k files.
import { cliMissing, sampleOf } from '../lib/bbox.mjs';
import { peakRssMiB, peerScriptSide, timeColdPull } from '../lib/cold-pull.mjs';
import { interleave, ratio } from '../lib/interleave.mjs';
import { atMost, equals, makeRow } from '../lib/rows.mjs';
import { ensureSmallFiles, smallFilesPeerDir } from '../lib/small-files.mjs';

function bboxSide(ctx, image, id) {
  return {
    id,
    label: `bbox pull (CLI, empty cache), ${image.files} files`,
    unavailable: cliMissing(),
    run: async () => {
      const { res } = await timeColdPull(ctx, image, 'sf-');
      return sampleOf(res);
    },
  };
}

export async function smallFilesPulls(ctx) {
  const { images } = await ensureSmallFiles({ ...ctx, log: ctx.log });
  const big = images.sf160k;
  const small = images.sf20k;
  const { runs, warmup } = ctx.plan.heavy;
  // BENCH_SMALL_FILES_PEERS=gnutar keeps only GNU tar (umoci takes about a minute a run here).
  const peerIds = (process.env.BENCH_SMALL_FILES_PEERS || 'gnutar,skopeo-umoci,podman-overlay').split(',');
  const peers = [
    ['gnutar', 'GNU tar from local blobs'],
    ['skopeo-umoci', 'skopeo copy + umoci raw unpack'],
    ['podman-overlay', 'podman pull (overlay)'],
  ].filter(([id]) => peerIds.includes(id));
  ctx.log(`small files: cold pull of ${big.ref} (${runs} runs, ${warmup} warm-up), and ${small.ref}`);
  const [bbox, bbox20k, ...measured] = await interleave({
    sides: [bboxSide(ctx, big, 'bbox'), bboxSide(ctx, small, 'bbox-20k'), ...peers.map(([id, label]) => peerScriptSide(ctx, id, label, big.tag, { ...ctx.peerEnv, BENCH_DIR: smallFilesPeerDir(ctx.benchDir) }))],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const peer = (id) => measured[peers.findIndex(([p]) => p === id)];
  const gnutar = peer('gnutar');
  const rss = peakRssMiB(bbox);
  const rss20k = peakRssMiB(bbox20k);
  const growth = rss !== undefined && rss20k ? rss / rss20k : undefined;
  const fetched = bbox.requests?.layerBytes?.max;
  return [
    makeRow({
      id: 'small-files-cold',
      scenario: `cold pull of ${big.files} small files (4 gzip layers, ~80 B each, 200 per directory), CLI, empty cache`,
      target: '≤ 1.0x GNU tar; peak RSS ≤ 200 MiB',
      bbox,
      peers: measured,
      figures: {
        ratioVsGnuTar: ratio(bbox, gnutar),
        ratioVsSkopeoUmoci: ratio(bbox, peer('skopeo-umoci')),
        ratioVsPodman: ratio(bbox, peer('podman-overlay')),
        peakRssMiB: rss,
        layerBytesFetched: fetched,
        imageLayerBytes: big.compressedBytes,
      },
      checks: [
        atMost('vs GNU tar', ratio(bbox, gnutar), 1.0),
        atMost('peak RSS', rss, 200, 'MiB'),
        equals('layer bytes fetched', fetched, big.compressedBytes, (v) => `${v} B`),
      ],
      notes: ['Every side includes removing its output tree, as the shared peer scripts do.'],
    }),
    makeRow({
      id: 'small-files-rss',
      scenario: `bbox peak RSS, cold pull of ${small.files} vs ${big.files} small files`,
      target: 'the larger within 1.3x of the smaller; ≤ 200 MiB',
      bbox: bbox20k,
      peers: [bbox],
      figures: { peakRssMiB20k: rss20k, peakRssMiB160k: rss, growth },
      checks: [atMost('160k vs 20k peak RSS', growth, 1.3), atMost('peak RSS at 160k', rss, 200, 'MiB')],
    }),
  ];
}
