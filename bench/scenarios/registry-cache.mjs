// Issue 16: the default pull-through registry caches, with the upstream behind a ~100 Mbit/s link
// (the testkit's proxy, throttled). Three sides, interleaved:
//   first   a pull that starts a fresh cache (empty storage) and goes through it;
//   direct  the same pull with --no-registry-cache (straight over the link);
//   purged  a pull after `bbox cache purge` (an empty image cache) with the cache warm.
// Rows: first vs direct (target ≤ 1.15x), purged vs first (target ≤ 0.5x).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkPullOutput, sampleOf, timeBbox, bboxArgv, bboxEnv } from '../lib/bbox.mjs';
import { cliSide } from '../lib/cli-side.mjs';
import { interleave, ratio, reasonOf } from '../lib/interleave.mjs';
import { atMost, makeRow, notMeasuredRow } from '../lib/rows.mjs';
import { createCipheriv } from 'node:crypto';
import { buildImage, makeLayer, pushImage, startProxy } from '../../packages/testkit/dist/index.js';
import { describeImage } from '../lib/registry-http.mjs';

const LINK_BYTES_PER_S = 100e6 / 8;
const FIRST = ['registry-cache-first', 'first pull through a new registry cache vs a direct pull (upstream at 100 Mbit/s)', 'issue 16: ≤ 1.15x direct'];
const PURGED = ['registry-cache-purged', 'pull after `bbox cache purge`, served by the warm registry cache, vs the first pull', 'issue 16: ≤ 0.5x first pull'];

const WAN_LAYERS = 4;
const WAN_LAYER_BYTES = 24 * 1024 * 1024;

/** Deterministic incompressible bytes (AES-CTR of zeros), so the image has the same digest every run. */
function noise(seed, n) {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}

/**
 * The default workload: ~100 MB of compressed layers in a few files, like the large application
 * images the caches are for, where the link and not extraction sets the pace.
 */
async function wanImage(ctx) {
  const layers = [];
  for (let i = 0; i < WAN_LAYERS; i++) layers.push(makeLayer([{ path: `opt/wan/part${i}.bin`, type: 'file', content: noise(i + 1, WAN_LAYER_BYTES) }]));
  await pushImage(ctx.baseUrl, 'bench/wan', buildImage({ layers, config: { Cmd: ['/bin/true'] } }), { tag: 'v1' });
  return { ...(await describeImage(ctx.baseUrl, 'bench/wan', 'v1')), ref: `${ctx.registryHost}/bench/wan:v1` };
}

async function pickImage(ctx) {
  const which = process.env.BENCH_REGISTRY_CACHE_IMAGE;
  if (which === 'reference') return ctx.reference.big;
  if (which === 'synthetic') return ctx.synthetic.images['syn-v1'];
  return wanImage(ctx);
}

/** Stops the caches under a registry-cache root (XDG_CACHE_HOME) so no process outlives the side. */
async function stopCaches(ctx, xdgCache, extraEnv) {
  const env = await bboxEnv(ctx.benchDir, { ...extraEnv, XDG_CACHE_HOME: xdgCache });
  spawnSync(bboxArgv(['registry-cache', 'stop'])[0], bboxArgv(['registry-cache', 'stop']).slice(1), { env, stdio: 'ignore' });
}

const linkBytes = (link) => link.requests.reduce((n, r) => n + r.bytesOut, 0);

function side(ctx, id, label, ref, image, { link, args = [], env, xdgCache }) {
  const cacheHomeIn = (dir) => xdgCache ?? join(dir, 'xdg-cache');
  return cliSide(
    ctx,
    id,
    label,
    async (dir) => {
      const linkBefore = linkBytes(link);
      const res = await timeBbox(ctx, ['pull', ...args, '--json', '--cache-dir', join(dir, 'images'), ref], { extraEnv: { ...env, XDG_CACHE_HOME: cacheHomeIn(dir) }, treeRss: true });
      checkPullOutput(res.stdout, { digest: image.digest, fromCache: false });
      if (res.stderr.includes('bbox: warning')) throw new Error(`bbox warned: ${res.stderr.trim()}`);
      // What crossed the link: the blobs once for a direct pull; more means the cache fetched twice.
      return sampleOf(res, { mbitPerS: (image.compressedBytes * 8) / (res.wallMs * 1000), linkBytes: linkBytes(link) - linkBefore });
    },
    // A first-pull side starts a cache in its own root each run: stop it before the root is removed.
    { cleanup: xdgCache ? undefined : (dir) => stopCaches(ctx, cacheHomeIn(dir), env) },
  );
}

export async function registryCachePull(ctx) {
  const { runs, warmup } = ctx.plan.medium;
  let link;
  let image;
  try {
    image = await pickImage(ctx);
    link = await startProxy({ target: ctx.baseUrl, bytesPerSecond: LINK_BYTES_PER_S });
  } catch (err) {
    return [notMeasuredRow(...FIRST, reasonOf(err)), notMeasuredRow(...PURGED, reasonOf(err))];
  }
  // The upstream is named by the link's address: a direct pull crosses the same link.
  const ref = `${link.host}/${image.ref.slice(image.ref.indexOf('/') + 1)}`;
  const env = { BBOX_REGISTRY_CACHE_UPSTREAMS: `${link.host}=${link.url}` };
  const warmHome = join(ctx.workDir, 'registry-cache-warm');
  try {
    ctx.log(`registry cache: ${ref} over a ${LINK_BYTES_PER_S * 8 / 1e6} Mbit/s link`);
    // Warm the shared cache once (untimed): the purged side pulls from it with an empty image cache.
    const warmDir = await mkdtemp(join(ctx.workDir, 'rc-warm-'));
    await timeBbox(ctx, ['pull', '--json', '--cache-dir', warmDir, ref], { extraEnv: { ...env, XDG_CACHE_HOME: warmHome } });
    await rm(warmDir, { recursive: true, force: true });
    const [first, direct, purged] = await interleave({
      sides: [
        side(ctx, 'bbox-first', 'first pull, starting a new cache', ref, image, { link, env }),
        side(ctx, 'bbox-direct', 'direct pull (--no-registry-cache)', ref, image, { link, args: ['--no-registry-cache'], env }),
        side(ctx, 'bbox-purged', 'pull after bbox cache purge (warm registry cache)', ref, image, { link, env, xdgCache: warmHome }),
      ],
      runs,
      warmup,
      log: ctx.log,
      deadline: ctx.deadline,
    });
    const firstRatio = ratio(first, direct);
    const linkMB = (s) => (s.extra?.linkBytes?.median === undefined ? undefined : Math.round(s.extra.linkBytes.median / 1e5) / 10);
    const purgedRatio = ratio(purged, first);
    const notes = [
      `Image: ${image.ref.split('/').slice(1).join('/')}, ${(image.compressedBytes / 1e6).toFixed(1)} MB compressed; the link is the testkit proxy throttled to ${LINK_BYTES_PER_S * 8 / 1e6} Mbit/s for every response body together.`,
      'The first-pull side includes starting docker-registry (lazily, on the first request).',
      'linkMB*: megabytes that crossed the link per pull. distribution 2.8 fetches a blob it does not hold twice from the upstream (one copy to store, one streamed to the client); bbox therefore fetches each layer its cache lacks itself, once, and stores it into the cache (docs/mirrors.md), so a first pull moves the bytes of a direct pull (only the small image config goes through the cache, twice).',
    ];
    return [
      makeRow({ id: FIRST[0], scenario: FIRST[1], target: FIRST[2], bbox: first, peers: [direct], figures: { ratioVsDirect: firstRatio, linkMBFirst: linkMB(first), linkMBDirect: linkMB(direct) }, checks: [atMost('first pull / direct', firstRatio, 1.15)], notes }),
      makeRow({ id: PURGED[0], scenario: PURGED[1], target: PURGED[2], bbox: purged, peers: [first], figures: { ratioVsFirst: purgedRatio, linkMBPurged: linkMB(purged) }, checks: [atMost('after purge / first pull', purgedRatio, 0.5)], notes }),
    ];
  } finally {
    await stopCaches(ctx, warmHome, env);
    await link.stop();
  }
}
