// What the cold-pull scenarios (the reference image, many small files) share: bbox's timed pull
// into an empty cache, the shared peer scripts as sides, and the peak RSS a row reports.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bboxEnv, checkPullOutput, sampleOf, timeMeasured, CLI_BIN } from './bbox.mjs';

// The bbox side does what the shared peer scripts do: the whole pipeline into a fresh directory,
// then removing it, all inside the timed command.
const COLD_SCRIPT = 'set -e; "$4" "$3" pull --json --cache-dir "$1/cache" "$2" > "$1.json"; rm -rf "$1"';

/** One timed `bbox pull` of `image` into an empty cache (a directory named `prefix…`); its output checked. */
export async function timeColdPull(ctx, image, prefix) {
  const dir = await mkdtemp(join(ctx.workDir, prefix));
  const res = await timeMeasured(ctx, ['bash', '-c', COLD_SCRIPT, 'bench', dir, image.ref, CLI_BIN, process.execPath], {
    label: 'bbox pull',
    counts: ctx.registryLog,
    layerDigests: image.layers.map((l) => l.digest),
    treeRss: true,
    env: await bboxEnv(ctx.benchDir),
  });
  const out = checkPullOutput(await readFile(`${dir}.json`, 'utf8'), { digest: image.digest, fromCache: false });
  await rm(`${dir}.json`, { force: true });
  return { res, out };
}

/** A side running the shared peer script `name`.sh on `tag` (with `env`, default the peers' environment). */
export function peerScriptSide(ctx, name, label, tag, env = ctx.peerEnv) {
  return {
    id: name,
    label,
    run: async () => sampleOf(await timeMeasured(ctx, [join(ctx.sharedBench, `${name}.sh`), tag], { label: name, counts: ctx.registryLog, treeRss: true, env })),
  };
}

/** A side's peak RSS in MiB: the larger of GNU time's `%M` and the sampled tree's. */
export function peakRssMiB(side) {
  if (!side?.measured) return undefined;
  return Math.max(side.maxRssKiB?.median ?? 0, side.treeRssPeakKiB?.median ?? 0) / 1024;
}
