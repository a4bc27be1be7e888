// Pulls of the reference image: cold (empty cache) against the peers, warm (if-not-present hit)
// against the runtime's floor, and `--pull always` with the tag unchanged against a tag check.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bboxArgv, bboxEnv, checkPullOutput, cliMissing, sampleOf, timeBbox, timeMeasured } from '../lib/bbox.mjs';
import { nodeStartSide } from '../lib/cli-side.mjs';
import { interleave, NotMeasuredError, ratio } from '../lib/interleave.mjs';
import { atMost, equals, makeRow } from '../lib/rows.mjs';
import { referenceWarmCache } from '../lib/warm-cache.mjs';
import { freshProfileDir, summariseProfiles } from '../lib/profile.mjs';
import { runQuiet } from '../lib/measure.mjs';
import { peakRssMiB, peerScriptSide, timeColdPull } from '../lib/cold-pull.mjs';

function bboxColdSide(ctx, image) {
  return {
    id: 'bbox',
    label: 'bbox pull (CLI, empty cache)',
    unavailable: cliMissing(),
    run: async ({ warmup }) => {
      if (warmup && !ctx.state.warmCache) {
        // The warm-up pull is kept: it becomes the cache the warm scenarios start from.
        const t0 = performance.now();
        await referenceWarmCache(ctx);
        return { wallMs: performance.now() - t0 };
      }
      const { res, out } = await timeColdPull(ctx, image, 'cold-');
      return sampleOf(res, { rootfsReported: out.rootfs ? 1 : 0 });
    },
  };
}

async function profileColdPull(ctx, image) {
  const dir = await freshProfileDir(join(ctx.outDir, 'profile-cold-pull'));
  const cache = await mkdtemp(join(ctx.workDir, 'prof-'));
  try {
    await runQuiet([process.execPath, `--cpu-prof`, `--cpu-prof-dir=${dir}`, ...bboxArgv(['pull', '--json', '--cache-dir', cache, image.ref]).slice(1)], {
      cwd: ctx.workDir,
      env: await bboxEnv(ctx.benchDir),
    });
    return await summariseProfiles(dir);
  } catch (err) {
    return { error: err.message };
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

async function syscallSummary(ctx, image) {
  const cache = await mkdtemp(join(ctx.workDir, 'strace-'));
  const outFile = join(ctx.outDir, 'strace-cold-pull.txt');
  try {
    await runQuiet(['strace', '-f', '-c', '-o', outFile, ...bboxArgv(['pull', '--json', '--cache-dir', cache, image.ref])], {
      cwd: ctx.workDir,
      env: await bboxEnv(ctx.benchDir),
    });
    const lines = (await readFile(outFile, 'utf8')).split('\n').filter((l) => /^\s*\d/.test(l));
    return lines.slice(0, 12).map((l) => {
      const c = l.trim().split(/\s+/);
      return { syscall: c[c.length - 1], share: Number(c[0]), calls: Number(c[3]), errors: c.length === 6 ? Number(c[4]) : 0 };
    });
  } catch (err) {
    return { error: err.message };
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

export async function coldPull(ctx) {
  const image = ctx.reference.big;
  const { runs, warmup } = ctx.plan.heavy;
  ctx.log(`cold pull of ${image.ref} (${runs} runs, ${warmup} warm-up)`);
  const [bbox, gnutar, skopeo, podman] = await interleave({
    sides: [
      bboxColdSide(ctx, image),
      peerScriptSide(ctx, 'gnutar', 'GNU tar from local blobs', 'big'),
      peerScriptSide(ctx, 'skopeo-umoci', 'skopeo copy + umoci raw unpack', 'big'),
      peerScriptSide(ctx, 'podman-overlay', 'podman pull (overlay)', 'big'),
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const rss = peakRssMiB(bbox);
  const fetched = bbox.requests?.layerBytes?.max;
  const row = makeRow({
    id: 'cold-pull',
    scenario: 'cold pull of the reference image, CLI, empty cache',
    target: '≤ 1.0x GNU tar; ≤ 0.9x skopeo+umoci; peak RSS ≤ 200 MiB',
    bbox,
    peers: [gnutar, skopeo, podman],
    figures: {
      ratioVsGnuTar: ratio(bbox, gnutar),
      ratioVsSkopeoUmoci: ratio(bbox, skopeo),
      ratioVsPodman: ratio(bbox, podman),
      peakRssMiB: rss,
      layerBytesFetched: fetched,
      imageLayerBytes: image.compressedBytes,
      podmanVsGnuTar: ratio(podman, gnutar),
      skopeoUmociVsGnuTar: ratio(skopeo, gnutar),
    },
    checks: [
      atMost('vs GNU tar', ratio(bbox, gnutar), 1.0),
      atMost('vs skopeo+umoci', ratio(bbox, skopeo), 0.9),
      atMost('peak RSS', rss, 200, 'MiB'),
      equals('layer bytes fetched', fetched, image.compressedBytes, (v) => `${v} B`),
    ],
    notes: ['Every side includes removing its output tree, as the shared peer scripts do.'],
  });
  if (row.verdict === 'MISS' && !ctx.quick) {
    ctx.log('cold pull missed a target: profiling one more pull');
    row.profile = await profileColdPull(ctx, image);
    row.syscalls = await syscallSummary(ctx, image);
  }
  return [row];
}

export async function warmPull(ctx) {
  const image = ctx.reference.big;
  const { runs, warmup } = ctx.plan.light;
  ctx.log(`warm pull (if-not-present hit) of ${image.ref}`);
  let cacheError;
  try {
    if (!cliMissing()) await referenceWarmCache(ctx);
  } catch (err) {
    cacheError = err.message;
  }
  const [bbox, node] = await interleave({
    sides: [
      {
        id: 'bbox',
        label: 'bbox pull (cached)',
        unavailable: cliMissing() ?? cacheError,
        run: async () => {
          const res = await timeBbox(ctx, ['pull', '--json', '--cache-dir', ctx.state.warmCache.dir, image.ref], { counts: ctx.registryLog });
          checkPullOutput(res.stdout, { digest: image.digest, fromCache: true });
          return sampleOf(res);
        },
      },
      nodeStartSide(ctx),
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  return [
    makeRow({
      id: 'warm-pull',
      scenario: 'warm `bbox pull` (if-not-present hit), whole process',
      target: '≤ 1.5x `node -e 0`, zero requests',
      bbox,
      peers: [node],
      figures: { ratioVsNode: ratio(bbox, node), requests: bbox.requests?.total?.max },
      checks: [atMost('vs node -e 0', ratio(bbox, node), 1.5), equals('requests', bbox.requests?.total?.max, 0)],
    }),
  ];
}

export async function pullAlways(ctx) {
  const image = ctx.reference.big;
  const { runs, warmup } = ctx.plan.light;
  ctx.log(`--pull always, tag unchanged, ${image.ref}`);
  let cacheError;
  try {
    if (!cliMissing()) await referenceWarmCache(ctx);
  } catch (err) {
    cacheError = err.message;
  }
  const [bbox, skopeo] = await interleave({
    sides: [
      {
        id: 'bbox',
        label: 'bbox pull --pull always (cached, tag unchanged)',
        unavailable: cliMissing() ?? cacheError,
        run: async () => {
          const res = await timeBbox(ctx, ['pull', '--pull', 'always', '--json', '--cache-dir', ctx.state.warmCache.dir, image.ref], {
            counts: ctx.registryLog,
          });
          const out = checkPullOutput(res.stdout, { digest: image.digest });
          if (out.fromCache === false) throw new NotMeasuredError('bbox pull --pull always re-fetched an unchanged image (fromCache=false)');
          return sampleOf(res);
        },
      },
      {
        id: 'skopeo-inspect',
        label: 'skopeo inspect (tag check)',
        run: async () =>
          sampleOf(
            await timeMeasured(ctx, ['skopeo', 'inspect', '--tls-verify=false', `docker://${image.ref}`], {
              label: 'skopeo inspect',
              counts: ctx.registryLog,
            }),
          ),
      },
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  const req = bbox.requests;
  return [
    makeRow({
      id: 'pull-always',
      scenario: '`--pull always`, tag unchanged',
      target: '≤ 2x `skopeo inspect`, exactly one manifest request, no blob request',
      bbox,
      peers: [skopeo],
      figures: {
        ratioVsSkopeoInspect: ratio(bbox, skopeo),
        manifestRequests: req?.manifest?.max,
        blobRequests: req?.blob?.max,
        pingRequests: req?.ping?.max,
        requestList: bbox.samples?.[0]?.requests?.list,
      },
      checks: [
        atMost('vs skopeo inspect', ratio(bbox, skopeo), 2),
        equals('manifest requests (min, max)', req ? [req.manifest?.min ?? 0, req.manifest?.max ?? 0] : undefined, [1, 1]),
        equals('blob requests', req ? (req.blob?.max ?? 0) : undefined, 0),
      ],
    }),
  ];
}
