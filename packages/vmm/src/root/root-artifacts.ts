/**
 * The files the VM layer keeps beside an image's cache entry, and which of them a host still
 * needs. A shared root needs only the owners script (a few KB); a disk root needs its ext4 image.
 * Disks of older versions (`rootfs.ext4`) and, where the root is shared, every disk are full
 * copies of the rootfs that nothing reads any more: `bbox cache gc` removes them.
 */
import { chooseRootMode } from './root-mode.js';

/** File name of the per-digest root disk in the cache entry (listings report it as `hasDisk`). */
export const ROOT_DISK_ARTIFACT = 'disk.ext4';
/** File name of the shared root's owners script in the cache entry (see guest-owners.ts). */
export const GUEST_OWNERS_ARTIFACT = 'guest-owners.sh';
/** Root disks of earlier versions, never read now. */
const RETIRED = ['rootfs.ext4'];

/** `name` itself, or a lock or temporary file of it (`name.lock`, `name.tmp-…`). */
const isFileOf = (name: string, artifact: string) => name === artifact || name.startsWith(`${artifact}.`);

/**
 * Whether this host still needs an artifact of `name`, for `Cache.gc`'s `artifactNeeded`:
 * disks only where the root is a disk (see root-mode.ts; `$BBOX_VM_ROOT` counts), retired disks
 * never. Names this layer did not make are kept.
 */
export async function vmArtifactNeeded(): Promise<(name: string) => boolean> {
  const disks = (await chooseRootMode(undefined)) === 'disk';
  return (name) => {
    if (RETIRED.some((a) => isFileOf(name, a))) return false;
    if (isFileOf(name, ROOT_DISK_ARTIFACT)) return disks;
    return true;
  };
}
