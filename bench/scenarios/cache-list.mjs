// `bbox cache list` over a cache of 20 entries, three of them trees of 30k files: a list that
// walks the trees shows it in its time and in its getdents64 calls.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bboxArgv, bboxEnv, cliMissing, sampleOf, timeBbox, timeMeasured } from '../lib/bbox.mjs';
import { interleave, NotMeasuredError, ratio, reasonOf } from '../lib/interleave.mjs';
import { runQuiet } from '../lib/measure.mjs';
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

async function syscallCounts(ctx, dir) {
  const out = join(ctx.workDir, 'strace-cache-list.txt');
  await runQuiet(['strace', '-f', '-c', '-e', `trace=${TRACED.join(',')}`, '-o', out, ...bboxArgv(['cache', 'list', '--cache-dir', dir])], {
    cwd: ctx.workDir,
    env: await bboxEnv(ctx.benchDir),
  });
  const counts = Object.fromEntries(TRACED.map((s) => [s, 0]));
  for (const line of (await readFile(out, 'utf8')).split('\n')) {
    const c = line.trim().split(/\s+/);
    if (TRACED.includes(c[c.length - 1]) && /^\d/.test(c[0])) counts[c[c.length - 1]] = Number(c[3]);
  }
  await rm(out, { force: true });
  return counts;
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
      syscalls = await syscallCounts(ctx, dir);
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
      { id: 'node-e-0', label: 'node -e 0', run: async () => sampleOf(await timeMeasured(ctx, [process.execPath, '-e', '0'], { label: 'node' })) },
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
