import { join } from 'node:path';
import type { Cache } from '@broodbox/image';
import type { RunRequest } from './run-request.js';
import type { PullResult as PulledImage } from '@broodbox/image';

/** What the VM layer is handed for one `bbox run`. */
export interface VmLaunch {
  request: RunRequest;
  image: PulledImage;
  cache: Cache;
  signal: AbortSignal;
  /** Rootfs of the image named by `vm.kernelImage`, already pulled. */
  kernelImageRootfs?: string | undefined;
}

/** File name of the per-digest root disk kept beside the cache entry (gc and purge remove it with the entry). */
export const ROOT_DISK_ARTIFACT = 'rootfs.ext4';

/**
 * Boots the pulled image with `@broodbox/vmm` and returns the guest command's exit code. The cache
 * entry is held for the whole run so that gc, purge or eviction in another process leaves it alone.
 */
export async function launchVm(launch: VmLaunch): Promise<number> {
  const { runVm, defaultVmCacheDir } = await import('@broodbox/vmm');
  const { request, image, cache } = launch;
  const release = await cache.hold(image.digest);
  try {
    const result = await runVm({
      rootfsPath: image.path,
      digest: image.digest,
      config: image.config,
      diskPath: cache.artifactPath(image.digest, ROOT_DISK_ARTIFACT),
      workDir: join(defaultVmCacheDir(), 'run'),
      ...(request.command.length > 0 ? { cmd: request.command } : {}),
      env: request.env.map(([k, v]) => `${k}=${v}`),
      ...(request.workdir !== undefined ? { workingDir: request.workdir } : {}),
      ...(request.user !== undefined ? { user: request.user } : {}),
      ...(request.cpus !== undefined ? { cpus: request.cpus } : {}),
      ...(request.memory !== undefined ? { memoryMiB: request.memory } : {}),
      ...(request.timeout !== undefined ? { timeoutSeconds: request.timeout / 1000 } : {}),
      kernel: {
        ...(request.kernel !== undefined ? { kernel: request.kernel } : {}),
        ...(request.modules !== undefined ? { modules: request.modules } : {}),
        ...(launch.kernelImageRootfs !== undefined ? { kernelImage: launch.kernelImageRootfs } : {}),
      },
      accel: request.accel,
      network: request.net,
      volumes: request.volumes.map((v) => ({ host: v.host, guest: v.guest, readOnly: v.readOnly })),
      signal: launch.signal,
      stdout: process.stdout,
      stderr: process.stderr,
    });
    return result.exitCode;
  } finally {
    await release();
  }
}
