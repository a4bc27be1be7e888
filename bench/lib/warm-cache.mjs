// Caches that later scenarios start from, each filled once by an unmeasured bbox pull.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertRootfs, checkPullOutput, timeBbox } from './bbox.mjs';
import { NotMeasuredError, reasonOf } from './interleave.mjs';

/** Pulls `image` into `cacheDir` (not measured) and checks what bbox reports. */
export async function pullInto(ctx, cacheDir, image, probe) {
  await mkdir(cacheDir, { recursive: true });
  const res = await timeBbox(ctx, ['pull', '--json', '--cache-dir', cacheDir, image.ref]);
  const out = checkPullOutput(res.stdout, { digest: image.digest });
  if (probe) await assertRootfs(out, probe);
  return out;
}

/**
 * The cache holding the reference image (`big`), shared by the warm-pull, always, run, micro,
 * verify and clone scenarios. Filled once; a failure is remembered and reported by each of them.
 */
export async function referenceWarmCache(ctx) {
  if (ctx.state.warmCache) return ctx.state.warmCache;
  if (ctx.state.warmCacheError) throw new NotMeasuredError(ctx.state.warmCacheError);
  const dir = join(ctx.workDir, 'warm', 'cache');
  try {
    const out = await pullInto(ctx, dir, ctx.reference.big, 'etc/os-release');
    ctx.state.warmCache = { dir, rootfs: out.rootfs, digest: out.digest };
    return ctx.state.warmCache;
  } catch (err) {
    ctx.state.warmCacheError = `could not fill the reference cache: ${reasonOf(err)}`;
    throw new NotMeasuredError(ctx.state.warmCacheError);
  }
}
