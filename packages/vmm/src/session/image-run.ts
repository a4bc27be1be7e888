/**
 * Running an image by reference: pull it through `@broodbox/image`, hold its cache entry while the
 * VM lives (gc, purge and eviction in any process leave it alone), keep its root disk as an
 * artifact of that entry (removed with it), and boot it with {@link runVm}. With `noImageCache`,
 * the image goes into a temporary cache that is removed afterwards: the cache is neither read nor
 * written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cache, PullOptions, PullResult } from '@broodbox/image';
import { formatPlatform, hostPlatform, parsePlatform, type ImageConfig, type Platform } from 'oci-client-lite';
import { PlatformNotRunnableError, RunImageOptionsError } from '../errors.js';
import { defaultVmCacheDir } from '../host/paths.js';
import { runVm, type RunVmOptions, type RunVmResult } from './run.js';
import { GUEST_OWNERS_ARTIFACT, ROOT_DISK_ARTIFACT } from '../root/root-artifacts.js';
import { visibleInGuest } from '../root/guest-owners.js';
import { runningAsRoot } from '../host/virtiofsd.js';


/** Options of {@link runImage}: those of {@link runVm} less what the image supplies, plus how to get the image. */
export interface RunImageOptions extends Omit<RunVmOptions, 'rootfsPath' | 'digest' | 'config' | 'diskPath' | 'ownersScriptPath' | 'workDir'> {
  /** The image cache (default `new Cache()`, $XDG_CACHE_HOME/broodbox/images). Ignored with `noImageCache`. */
  cache?: Cache;
  /** Pull policy (`if-not-present` by default, `always`, `never`, `background`, `max-age=…`). */
  policy?: string;
  /** Platform to pull (`linux/amd64`); one this host cannot run fails before any pull. */
  platform?: string;
  /** Further pull options (registries, mirrors, a fetcher, progress). */
  pull?: Omit<PullOptions, 'cache' | 'policy' | 'platform' | 'signal'>;
  /** Pull into a temporary cache removed after the run: the cache is neither read nor written. */
  noImageCache?: boolean;
  /** Per-VM files (default `$XDG_CACHE_HOME/broodbox/vm/run`). */
  workDir?: string;
  /** An image holding the kernel (`/boot/vmlinuz-*`, `/lib/modules`), pulled and held like the image. */
  kernelImage?: string;
  /** Called once the images are pulled, before the VM starts (e.g. to report what the pull could not apply). */
  onPulled?: (image: PullResult, kernelImage: PullResult | undefined) => void;
}

/** What {@link runImage} reports: the run, and the image it ran. */
export interface RunImageResult extends RunVmResult {
  image: PullResult;
}

/** The platform this host's VMs run: the host's own (x86_64 only, as QEMU's microvm here is). */
function runnablePlatform(): Platform {
  return { os: 'linux', architecture: hostPlatform().architecture };
}

/** Fails when `platform` (given, or the image's) is not one this host runs. */
export function checkRunnablePlatform(platform: string | Platform | undefined): void {
  if (platform === undefined) return;
  const p = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const host = runnablePlatform();
  if (p.os !== host.os || p.architecture !== host.architecture) throw new PlatformNotRunnableError(formatPlatform(p), formatPlatform(host));
}

function configPlatform(config: ImageConfig): Platform | undefined {
  return config.os && config.architecture ? { os: config.os, architecture: config.architecture } : undefined;
}

/**
 * Runs an image (a reference, pulled under `policy`; or an already pulled {@link PullResult}) in a
 * microVM and resolves with the command's exit status. See docs/vm.md ("Embedding").
 */
export async function runImage(image: string | PullResult, opts: RunImageOptions = {}): Promise<RunImageResult> {
  opts.signal?.throwIfAborted();
  if (typeof image === 'string') checkRunnablePlatform(opts.platform);
  if (opts.noImageCache && typeof image !== 'string') throw new RunImageOptionsError('noImageCache needs an image reference, not an image already in a cache');
  if (opts.noImageCache && opts.policy !== undefined && /^\s*never\s*$/i.test(opts.policy)) {
    throw new RunImageOptionsError('noImageCache cannot go with the pull policy never: without the cache there is nothing to run unless it is pulled');
  }
  const lib = await import('@broodbox/image');
  const tmp = opts.noImageCache ? await mkdtemp(join(tmpdir(), 'bbox-image-')) : undefined;
  const cache = tmp ? new lib.Cache(join(tmp, 'cache')) : (opts.cache ?? new lib.Cache());
  const releases: Array<() => Promise<void>> = [];
  let pulled: PullResult | undefined;
  try {
    const pullOne = async (ref: string): Promise<PullResult> => {
      const options: PullOptions = { ...opts.pull, cache, ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
      const withPlatform = opts.platform ? { ...options, platform: opts.platform } : options;
      // Once more if another process's gc removed the entry between the pull and the hold.
      return (await held(cache, await lib.pullWithFetcher(ref, withPlatform), releases)) ?? mustHold(cache, await lib.pullWithFetcher(ref, withPlatform), releases);
    };
    pulled = typeof image === 'string' ? await pullOne(image) : await mustHold(cache, image, releases);
    checkRunnablePlatform(configPlatform(pulled.config));
    const kernelImage = opts.kernelImage ? await pullOne(opts.kernelImage) : undefined;
    opts.onPulled?.(pulled, kernelImage);
    const { cache: _c, policy: _p, platform: _pl, pull: _pu, noImageCache: _n, workDir, kernelImage: _k, onPulled: _o, ...vm } = opts;
    const entry = pulled;
    const result = await runVm({
      ...vm,
      rootfsPath: pulled.path,
      digest: pulled.digest,
      config: pulled.config,
      diskPath: cache.artifactPath(pulled.digest, ROOT_DISK_ARTIFACT),
      ownersScriptPath: cache.artifactPath(pulled.digest, GUEST_OWNERS_ARTIFACT),
      // The image's owners and modes, where the rootfs on disk cannot hold them. A root's pull
      // stored every path as recorded but the special files: only those (and the root's own
      // record) are read then, which spares building the image's tree.
      owners: vm.owners ?? (async () => (await cache.imageOwners(entry.digest, runningAsRoot() ? { specialFiles: visibleInGuest } : {})).entries),
      workDir: workDir ?? join(defaultVmCacheDir(), 'run'),
      ...(kernelImage ? { kernel: { ...opts.kernel, kernelImage: kernelImage.path } } : {}),
    });
    return { ...result, image: pulled };
  } finally {
    for (const release of releases) await release();
    if (tmp) {
      // A background refresh writes into the temporary cache: let it finish before removing it.
      await pulled?.refresh;
      await cache.purge().catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
    }
  }
}

/**
 * Holds the pulled entry for the run; undefined when it is gone (the pull no longer holds it, so
 * another process's gc may have removed it in between).
 */
async function held(cache: Cache, image: PullResult, releases: Array<() => Promise<void>>): Promise<PullResult | undefined> {
  const entry = await cache.holdEntry(image.digest);
  if (!entry) return undefined;
  releases.push(entry.release);
  return { ...image, path: entry.rootfs.path };
}

async function mustHold(cache: Cache, image: PullResult, releases: Array<() => Promise<void>>): Promise<PullResult> {
  const got = await held(cache, image, releases);
  if (got) return got;
  const { EntryNotFoundError } = await import('@broodbox/image');
  throw new EntryNotFoundError(image.digest, 'run the image');
}
