// `bbox cache list` over a cache of 20 entries, three of them trees of 30k files: a list that
// walks the trees shows it in its time and in its getdents64 calls.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotMeasuredError, ratio } from '../lib/interleave.mjs';
import { measureListing } from '../lib/listing.mjs';
import { atMost, equals, makeRow } from '../lib/rows.mjs';
import { pullInto } from '../lib/warm-cache.mjs';

const ENTRIES = 20;
const TRACED = ['getdents64', 'newfstatat', 'statx', 'openat'];

async function fillCache(ctx, dir) {
  const imgs = Object.values(ctx.synthetic.images);
  if (imgs.length < ENTRIES) throw new NotMeasuredError(`only ${imgs.length} synthetic images exist, ${ENTRIES} needed`);
  for (const img of imgs.slice(0, ENTRIES)) await pullInto(ctx, dir, img);
  return imgs.slice(0, ENTRIES);
}

export async function cacheList(ctx) {
  const { runs, warmup } = ctx.plan.light;
  ctx.log(`bbox cache list with ${ENTRIES} entries`);
  const dir = join(ctx.workDir, 'list-cache', 'cache');
  const { bbox, node, listed, syscalls } = await measureListing(ctx, {
    command: ['cache', 'list'],
    dir,
    label: `bbox cache list (${ENTRIES} entries)`,
    fill: () => fillCache(ctx, dir),
    countListed: (stdout, images) => images.filter((i) => stdout.includes(i.digest)).length,
    traced: TRACED,
    runs,
    warmup,
  });
  await rm(join(ctx.workDir, 'list-cache'), { recursive: true, force: true });
  return [
    makeRow({
      id: 'cache-list',
      scenario: `\`bbox cache list\` with ${ENTRIES} entries`,
      target: '≤ 200 ms whole process, no tree walks',
      bbox,
      peers: [node],
      figures: { medianMs: bbox.wallMs?.median, ratioVsNode: ratio(bbox, node), entriesInJson: listed, syscalls },
      checks: [
        atMost('wall', bbox.wallMs?.median, 200, 'ms'),
        equals('entries listed (--json)', listed, ENTRIES),
        atMost('getdents64 calls (a tree walk makes thousands)', syscalls?.getdents64, 100, 'calls'),
      ],
    }),
  ];
}
