import type { Cache } from '@broodbox/image';
import { CliError } from './errors.js';
import type { RunRequest } from './run-request.js';
import type { PulledImage } from './pull-report.js';

/** What the VM layer is handed for one `bbox run`. */
export interface VmLaunch {
  request: RunRequest;
  image: PulledImage;
  cache: Cache;
  signal: AbortSignal;
}

type RunVm = (launch: VmLaunch) => Promise<{ exitCode: number }>;

/**
 * Boots the pulled image and returns the guest command's exit code. This is the seam between the
 * CLI and `@broodbox/vmm`: the VM layer's entry point is looked up at run time so that the CLI
 * builds while the VM layer's API settles.
 */
export async function launchVm(launch: VmLaunch): Promise<number> {
  const vmm = (await import('@broodbox/vmm')) as Record<string, unknown>;
  const runVm = vmm.runVm as RunVm | undefined;
  if (typeof runVm !== 'function') {
    throw new CliError('this build of bbox cannot boot VMs: @broodbox/vmm has no runVm', {
      code: 'VM_UNAVAILABLE',
      hint: 'the image was pulled; use its rootfs with `bbox pull REF`, or install a bbox release with VM support',
    });
  }
  const result = await runVm(launch);
  return result.exitCode;
}

