// `bbox cache list` over a cache of 20 entries, three of them trees of 30k files: a list that
// walks the trees shows it in its time and in its getdents64 calls.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cliMissing, sampleOf, timeBbox } from '../lib/bbox.mjs';
import { nodeStartSide } from '../lib/cli-side.mjs';
import { interleave, NotMeasuredError, ratio, reasonOf } from '../lib/interleave.mjs';
import { syscallCounts } from '../lib/syscall-counts.mjs';
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
  let unavailable = cliMissing();
  let images = [];
  if (!unavailable) {
    try {
      images = await fillCache(ctx, dir);
    } catch (err) {
      unavailable = `could not fill the cache: ${reasonOf(err)}`;
    }
  }
  let listed;
  let syscalls;
  if (!unavailable) {
    try {
      const res = await timeBbox(ctx, ['cache', 'list', '--json', '--cache-dir', dir]);
      listed = images.filter((i) => res.stdout.includes(i.digest)).length;
      syscalls = await syscallCounts(ctx, ['cache', 'list', '--cache-dir', dir], TRACED);
    } catch (err) {
      unavailable = reasonOf(err);
    }
  }
  const [bbox, node] = await interleave({
    sides: [
      {
        id: 'bbox',
        label: `bbox cache list (${ENTRIES} entries)`,
        unavailable,
        run: async () => sampleOf(await timeBbox(ctx, ['cache', 'list', '--cache-dir', dir])),
      },
      nodeStartSide(ctx),
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
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
