/**
 * Root disks: one ext4 image per image digest, built from the cached rootfs with `mkfs.ext4 -d`
 * (no mount, no root needed), and a qcow2 overlay per VM so guest writes never reach the base
 * image nor the rootfs.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DiskBuildError } from './errors.js';
import { runHostTool } from './host-tool.js';

const BLOCK = 4096;
const MiB = 1 << 20;
/** Free space given to the guest on top of the content (the file is sparse: unused space costs nothing). */
const HEADROOM = 1024 * MiB;
const LOCK_STALE_MS = 10 * 60_000;

export interface RootDiskOptions {
  /** Size of the file system in bytes; computed from the rootfs content plus headroom when omitted. */
  sizeBytes?: number;
  signal?: AbortSignal;
}

/** A root disk and whether this call built it. */
export interface RootDisk {
  path: string;
  built: boolean;
}

/**
 * Returns the ext4 image of `rootfsPath` at `diskPath`, building it when missing: in a temporary
 * file beside it, renamed into place when complete, under a lock file so concurrent callers build
 * it once. File ownership comes from the rootfs as stored: a rootfs unpacked by an unprivileged
 * user gives files owned by that user inside the guest.
 */
export async function ensureRootDisk(rootfsPath: string, diskPath: string, opts: RootDiskOptions = {}): Promise<RootDisk> {
  if (await isFile(diskPath)) return { path: diskPath, built: false };
  await mkdir(dirname(diskPath), { recursive: true });
  const release = await acquireLock(`${diskPath}.lock`, diskPath, opts.signal);
  if (!release) return { path: diskPath, built: false };
  try {
    if (await isFile(diskPath)) return { path: diskPath, built: false };
    await buildDisk(rootfsPath, diskPath, opts);
    return { path: diskPath, built: true };
  } finally {
    await release();
  }
}

/** Creates the per-VM copy-on-write overlay `overlayPath` on top of the raw `basePath`. */
export async function createOverlay(basePath: string, overlayPath: string): Promise<void> {
  await runHostTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', basePath, '-F', 'raw', overlayPath]);
}

/** Bytes and inodes the rootfs needs on ext4 with 4 KiB blocks. */
export async function measureTree(root: string): Promise<{ bytes: number; inodes: number }> {
  let bytes = 0;
  let inodes = 1;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const st = await lstat(p);
      inodes++;
      if (st.isDirectory()) {
        bytes += BLOCK;
        await walk(p);
      } else if (st.isFile() || (st.isSymbolicLink() && st.size >= 60)) {
        bytes += Math.ceil(st.size / BLOCK) * BLOCK;
      }
    }
  };
  await walk(root);
  return { bytes, inodes };
}

async function buildDisk(rootfsPath: string, diskPath: string, opts: RootDiskOptions): Promise<void> {
  if (!(await stat(rootfsPath).then((s) => s.isDirectory(), () => false))) {
    throw new DiskBuildError(`rootfs ${rootfsPath} is not a directory: pull the image again`);
  }
  const used = await measureTree(rootfsPath);
  const size = opts.sizeBytes ?? used.bytes + Math.ceil(used.bytes / 5) + used.inodes * 256 + HEADROOM;
  const sizeMiB = Math.max(64, Math.ceil(size / MiB));
  const inodes = used.inodes + Math.max(16384, Math.ceil(used.inodes / 2));
  const tmp = `${diskPath}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const args = ['-q', '-F', '-t', 'ext4', '-b', String(BLOCK), '-m', '0', '-N', String(inodes), '-L', 'bbox-root'];
    // No journal: the disk is only ever written through a throwaway overlay.
    args.push('-O', '^has_journal', '-E', 'lazy_itable_init=1,root_owner=0:0', '-d', rootfsPath, tmp, `${sizeMiB}M`);
    await runHostTool('mkfs.ext4', args, { signal: opts.signal }).catch((e: Error) => {
      throw new DiskBuildError(`building the root disk from ${rootfsPath} failed: ${e.message}`, { cause: e });
    });
    await rename(tmp, diskPath);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Takes `lockPath` (O_EXCL, holding our pid). When another live process holds it, waits until it
 * is released or `donePath` appears (then returns undefined: nothing left to do).
 */
async function acquireLock(lockPath: string, donePath: string, signal?: AbortSignal): Promise<(() => Promise<void>) | undefined> {
  while (true) {
    signal?.throwIfAborted();
    try {
      const fh = await open(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(lockPath).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isFile(donePath)) return undefined;
    if (await lockIsStale(lockPath)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function lockIsStale(lockPath: string): Promise<boolean> {
  const [text, st] = await Promise.all([readFile(lockPath, 'utf8').catch(() => ''), stat(lockPath).catch(() => undefined)]);
  if (!st) return false;
  const pid = Number(text);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return Date.now() - st.mtimeMs > LOCK_STALE_MS;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return Date.now() - st.mtimeMs > 5000;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}
