// Issue 5: a second host pulling through a warm pull-through mirror (distribution in proxy mode in
// front of the bench registry) against pulling from the registry directly.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPullOutput, sampleOf, timeBbox } from '../lib/bbox.mjs';
import { cliSide } from '../lib/cli-side.mjs';
import { AccessLog } from '../lib/access-log.mjs';
import { interleave, ratio, reasonOf } from '../lib/interleave.mjs';
import { runQuiet } from '../lib/measure.mjs';
import { equals, makeRow, notMeasuredRow } from '../lib/rows.mjs';
import { startProxyRegistry } from '../lib/proxy-registry.mjs';

const ID = 'mirror';
const SCENARIO = 'second-host pull through a warm pull-through mirror vs direct';
const TARGET = 'issue 5: a figure; pulls go through the mirror (no layer bytes from upstream)';

function pickImage(ctx) {
  return process.env.BENCH_MIRROR_IMAGE === 'reference' ? ctx.reference.big : ctx.synthetic.images['syn-v1'];
}

async function warmMirror(ctx, mirror, image) {
  const dir = await mkdtemp(join(ctx.workDir, 'mirror-warm-'));
  try {
    const path = image.ref.slice(image.ref.indexOf('/') + 1);
    await runQuiet(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${mirror.host}/${path}`, `oci:${dir}/layout:x`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function pullSide(ctx, id, label, image, config, logs) {
  return cliSide(ctx, id, label, async (dir) => {
    const configArgs = config ? ['--config', config] : [];
    const res = await timeBbox(ctx, ['pull', ...configArgs, '--json', '--cache-dir', join(dir, 'cache'), image.ref], {
      counts: logs,
      layerDigests: image.layers.map((l) => l.digest),
      treeRss: true,
    });
    checkPullOutput(res.stdout, { digest: image.digest, fromCache: false });
    const [first, second] = res.requestsPerLog;
    const extra = second ? { mirrorLayerBytes: first.layerBytes, upstreamLayerBytes: second.layerBytes, upstreamRequests: second.total } : {};
    return sampleOf(res, extra);
  });
}

export async function mirrorPull(ctx) {
  const image = pickImage(ctx);
  const { runs, warmup } = ctx.plan.medium;
  let mirror;
  try {
    mirror = await startProxyRegistry({ dir: join(ctx.workDir, 'mirror'), upstreamUrl: ctx.baseUrl });
  } catch (err) {
    return [notMeasuredRow(ID, SCENARIO, TARGET, reasonOf(err))];
  }
  try {
    ctx.log(`pull through a warm mirror (${mirror.url}) vs direct, ${image.ref}`);
    await warmMirror(ctx, mirror, image);
    const viaMirror = join(ctx.workDir, 'mirror-config.yaml');
    await writeFile(viaMirror, `registries:\n  "${ctx.registryHost}":\n    mirrors: ["${mirror.url}"]\n`);
    const mirrorLog = new AccessLog(mirror.logFile, mirror.url);
    const [through, straight] = await interleave({
      sides: [
        pullSide(ctx, 'bbox', 'bbox pull through the warm mirror', image, viaMirror, [mirrorLog, ctx.registryLog]),
        pullSide(ctx, 'bbox-direct', 'bbox pull from the registry directly (no config)', image, undefined, [ctx.registryLog]),
      ],
      runs,
      warmup,
      log: ctx.log,
    deadline: ctx.deadline,
    });
    const upstreamBytes = through.extra?.upstreamLayerBytes?.max;
    const mirrorBytes = through.extra?.mirrorLayerBytes?.max;
    return [
      makeRow({
        id: ID,
        scenario: `${SCENARIO} (${image.ref.split('/').slice(1).join('/')})`,
        target: TARGET,
        bbox: through,
        peers: [straight],
        figures: { ratioVsDirect: ratio(through, straight), mirrorLayerBytes: mirrorBytes, upstreamLayerBytes: upstreamBytes },
        checks: [
          equals('layer bytes from upstream', upstreamBytes, 0, (v) => `${v} B`),
          equals('layer bytes from the mirror', mirrorBytes, image.compressedBytes, (v) => `${v} B`),
        ],
        notes: [
          'Both registries are on loopback, so the mirror cannot be faster here; the figure is its overhead.',
          'Requests of the mirror side are those the mirror served; the figures give what reached the upstream.',
        ],
      }),
    ];
  } finally {
    await mirror.stop();
  }
}
