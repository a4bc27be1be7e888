/**
 * How the guest gets the image's root. `share` (the default wherever it works): the rootfs
 * directory the pull made, shared read-only over virtio-fs under a throwaway overlay; it
 * costs nothing beyond the pull and shares what the layers share. `disk`: an ext4 image of the
 * rootfs, built once per image (a second copy), for hosts where virtiofsd cannot run: it is not
 * installed, or bbox runs without root where user namespaces are not allowed.
 */
import { HostToolError, VmSpecError } from '../errors.js';
import { rootMappingAvailable } from '../disk/disk-owners.js';
import { findVirtiofsd, runningAsRoot } from '../host/virtiofsd.js';

/** What a run asks for: a kind, or `auto` (share where possible, else disk). */
export type RootRequest = 'auto' | RootMode;
/** How a run's root reaches the guest. */
export type RootMode = 'share' | 'disk';

export const ROOT_REQUESTS: readonly RootRequest[] = ['auto', 'share', 'disk'];

/**
 * The mode for `request` (default: `$BBOX_VM_ROOT`, else `auto`). `share` asked for and
 * impossible here fails with the reason; `auto` then takes `disk`.
 */
export async function chooseRootMode(request: RootRequest | undefined = envRequest()): Promise<RootMode> {
  if (request === 'disk') return 'disk';
  const why = await shareUnavailable();
  if (why === undefined) return 'share';
  if (request === 'share') throw new HostToolError(`the root cannot be shared with the guest: ${why}`);
  return 'disk';
}

function envRequest(): RootRequest | undefined {
  const v = process.env.BBOX_VM_ROOT?.trim();
  if (!v) return undefined;
  if (!(ROOT_REQUESTS as readonly string[]).includes(v)) throw new VmSpecError(`BBOX_VM_ROOT=${v} is not one of ${ROOT_REQUESTS.join(', ')}`);
  return v as RootRequest;
}

/** Why virtiofsd cannot serve the root here, or undefined when it can. */
async function shareUnavailable(): Promise<string | undefined> {
  try {
    findVirtiofsd();
  } catch (e) {
    return (e as Error).message;
  }
  if (runningAsRoot()) return undefined;
  return (await rootMappingAvailable()) ? undefined : 'without root, virtiofsd runs in a user namespace, and this host does not allow one';
}
