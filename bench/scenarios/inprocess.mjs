// Embedded use of @broodbox/image (a microbenchmark in its own process), and the integrity and
// private-copy operations of issue 8 on the reference image.
import { fileURLToPath } from 'node:url';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadImageLib } from '../lib/bbox.mjs';
import { reasonOf } from '../lib/interleave.mjs';
import { runQuiet, summarise } from '../lib/measure.mjs';
import { atMost, equals, makeRow, notMeasuredRow } from '../lib/rows.mjs';
import { referenceWarmCache } from '../lib/warm-cache.mjs';

const script = (name) => fileURLToPath(new URL(`../inproc/${name}`, import.meta.url));

async function runChild(name, args) {
  const { stdout } = await runQuiet([process.execPath, script(name), JSON.stringify(args)]);
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** A side summary built from in-process timings (µs or ms lists) so the report treats it alike. */
function sideFromTimes(id, label, ms, extra = {}) {
  return { id, label, measured: true, wallMs: summarise(ms), ...extra };
}

function usSide(id, label, s) {
  return { id, label, measured: true, wallMs: { median: s.medianUs / 1000, min: s.minUs / 1000, max: s.maxUs / 1000, n: s.n }, micro: s };
}

async function prerequisites(ctx) {
  const lib = await loadImageLib();
  if (lib.reason) return { reason: lib.reason };
  try {
    return { warm: await referenceWarmCache(ctx) };
  } catch (err) {
    return { reason: reasonOf(err) };
  }
}

export async function microbench(ctx) {
  const ids = [
    ['micro-lookup', 'in-process `cache.lookupRef` hit', '≤ 1 ms (median)'],
    ['micro-if-not-present', 'in-process `pullWithFetcher` if-not-present hit', '≤ 2 ms (median)'],
    ['micro-always', 'in-process `pullWithFetcher` always, tag unchanged', 'one HEAD round trip + ≤ 2 ms'],
  ];
  const pre = await prerequisites(ctx);
  if (pre.reason) return ids.map(([id, s, t]) => notMeasuredRow(id, s, t, pre.reason));
  const image = ctx.reference.big;
  ctx.log(`in-process microbenchmark (${ctx.plan.microIters} iterations)`);
  let r;
  try {
    r = await runChild('micro.mjs', {
      cacheDir: pre.warm.dir,
      ref: image.ref,
      digest: image.digest,
      iters: ctx.plan.microIters,
      alwaysIters: ctx.plan.microAlwaysIters,
      registryLog: ctx.registryLog.file,
      baseUrl: ctx.baseUrl,
    });
  } catch (err) {
    return ids.map(([id, s, t]) => notMeasuredRow(id, s, t, reasonOf(err)));
  }
  const ms = (s) => s.medianUs / 1000;
  const head = Math.min(ms(r.headKeepAlive), ms(r.headFresh));
  const overhead = ms(r.always) - head;
  return [
    makeRow({
      id: ids[0][0],
      scenario: ids[0][1],
      target: ids[0][2],
      bbox: usSide('bbox', 'cache.lookupRef', r.lookupRef),
      figures: { medianUs: r.lookupRef.medianUs, p90Us: r.lookupRef.p90Us, requests: r.lookupRef.requests },
      checks: [atMost('median', ms(r.lookupRef), 1, 'ms'), equals('requests', r.lookupRef.requests, 0)],
    }),
    makeRow({
      id: ids[1][0],
      scenario: ids[1][1],
      target: ids[1][2],
      bbox: usSide('bbox', 'pullWithFetcher if-not-present', r.ifNotPresent),
      figures: { medianUs: r.ifNotPresent.medianUs, p90Us: r.ifNotPresent.p90Us, requests: r.ifNotPresent.requests },
      checks: [atMost('median', ms(r.ifNotPresent), 2, 'ms'), equals('requests', r.ifNotPresent.requests, 0)],
    }),
    makeRow({
      id: ids[2][0],
      scenario: ids[2][1],
      target: ids[2][2],
      bbox: usSide('bbox', 'pullWithFetcher always', r.always),
      peers: [usSide('head-keepalive', 'HEAD manifest (kept-alive connection)', r.headKeepAlive), usSide('head-fresh', 'HEAD manifest (new connection)', r.headFresh)],
      figures: {
        medianUs: r.always.medianUs,
        headRoundTripUs: head * 1000,
        overheadMs: overhead,
        requestsPerCall: r.always.requestsPerCall,
        manifestPerCall: r.always.manifestPerCall,
        blobPerCall: r.always.blobPerCall,
      },
      checks: [
        atMost('time beyond one HEAD round trip', overhead, 2, 'ms'),
        equals('manifest requests per call', r.always.manifestPerCall, 1),
        equals('blob requests per call', r.always.blobPerCall, 0),
      ],
    }),
  ];
}

export async function verifyAndClone(ctx) {
  const rows = [
    ['verify', '`cache.verify` of the reference image (600 MB, 17.5k entries)', 'reported (issue 8); no target'],
    ['clone', '`cache.clone` of the reference rootfs vs `cp -a`', 'reported (issue 8); a private copy equal to the entry'],
  ];
  const pre = await prerequisites(ctx);
  if (pre.reason) return rows.map(([id, s, t]) => notMeasuredRow(id, s, t, pre.reason));
  ctx.log('cache.verify and cache.clone on the reference image');
  const work = join(ctx.workDir, 'clones');
  await mkdir(work, { recursive: true });
  let r;
  try {
    r = await runChild('verify-clone.mjs', {
      cacheDir: pre.warm.dir,
      digest: pre.warm.digest,
      rootfs: pre.warm.rootfs,
      runs: ctx.plan.copy.runs,
      workDir: work,
    });
  } catch (err) {
    return rows.map(([id, s, t]) => notMeasuredRow(id, s, t, reasonOf(err)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const out = [];
  if (r.verify.reason) out.push(notMeasuredRow(rows[0][0], rows[0][1], rows[0][2], r.verify.reason));
  else {
    out.push(
      makeRow({
        id: rows[0][0],
        scenario: rows[0][1],
        target: rows[0][2],
        bbox: sideFromTimes('bbox', 'cache.verify({ digest })', r.verify.runsMs),
        figures: { medianMs: summarise(r.verify.runsMs).median, entriesChecked: r.verify.entries, report: r.verify.summary },
        checks: [equals('damaged entries reported for an intact entry', r.verify.damaged, 0)],
      }),
    );
  }
  if (r.clone.reason) out.push(notMeasuredRow(rows[1][0], rows[1][1], rows[1][2], r.clone.reason));
  else {
    const bbox = sideFromTimes('bbox', 'cache.clone(digest, dest)', r.clone.cloneMs);
    const cp = sideFromTimes('cp-a', 'cp -a', r.clone.cpMs);
    out.push(
      makeRow({
        id: rows[1][0],
        scenario: rows[1][1],
        target: rows[1][2],
        bbox,
        peers: [cp],
        figures: { ratioVsCpA: bbox.wallMs.median / cp.wallMs.median, cloneEntries: r.cloneEntries, rootfsEntries: r.rootfsEntries, sameTree: r.cloneSameTree },
        checks: [equals('clone has the same tree (names, types, modes, owners, mtimes, links, sizes)', r.cloneSameTree, true)],
      }),
    );
  }
  return out;
}
