/**
 * The writable layer of a shared root on the host's disk rather than in guest memory: an empty,
 * sparse ext4 file system made once (a template in the VM cache directory) and given to each VM
 * through QEMU's own copy-on-write layer (`snapshot=on`, in the VM's directory), so a guest can
 * write gigabytes (an `apt-get install`, a build) without the memory to hold them, and what it
 * writes is gone with the VM. The guest mounts it with `noinit_itable`, so ext4 does not spend
 * the VM's life zeroing inode tables into that layer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runHostTool } from '../host/host-tool.js';

/** How much the guest may write, at most (the template is sparse: an empty one costs a few MiB). */
export const SCRATCH_GIB = 8;
const NAME = `scratch-v1-${SCRATCH_GIB}g.ext4`;

const made = new Map<string, Promise<string | undefined>>();

/**
 * The template in `cacheDir` (made when missing, atomically), or undefined when it cannot be made
 * (no mkfs.ext4, a read-only cache directory): the guest's writes then stay in its memory.
 */
export function ensureScratchTemplate(cacheDir: string): Promise<string | undefined> {
  let p = made.get(cacheDir);
  if (!p) {
    p = make(cacheDir).catch(() => undefined);
    made.set(cacheDir, p);
  }
  return p;
}

async function make(cacheDir: string): Promise<string> {
  const path = join(cacheDir, NAME);
  if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    // Few inodes (one per 64 KiB) keep the template small; no journal: nothing needs to survive.
    await runHostTool('mkfs.ext4', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0', '-i', '65536', '-L', 'bbox-scratch', '-O', '^has_journal', '-E', 'lazy_itable_init=1,root_owner=0:0', tmp, `${SCRATCH_GIB}G`]);
    await rename(tmp, path);
    return path;
  } finally {
    await rm(tmp, { force: true });
  }
}
