/**
 * Root disks: one ext4 image per image digest, built from the cached rootfs with `mkfs.ext4 -d`
 * (no mount, no root needed), then given the image's owners and modes with `debugfs` where the
 * copy differs (see disk-owners.ts). Guests boot it through a copy-on-write layer of QEMU's.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DiskBuildError } from '../errors.js';
import { applyOwnerScript, AS_MAPPED_ROOT, isSpecialFile, ownerScript, rootMappingAvailable, seenAsMappedRoot, type DiskEntrySource } from './disk-owners.js';
import { findHostTool, runHostTool } from '../host/host-tool.js';
import { walkTree } from '../root/tree-walk.js';

const BLOCK = 4096;
const MiB = 1 << 20;
/** Free space given to the guest on top of the content (the file is sparse: unused space costs nothing). */
const HEADROOM = 1024 * MiB;
const LOCK_STALE_MS = 10 * 60_000;
/**
 * The file system label, which also tells disks of this format from older ones, which are rebuilt:
 * a disk built before owners were applied (`bbox-root`) belongs to whoever built it, and one
 * labelled `bbox-root2` has a /lost+found the image does not.
 */
const LABEL = 'bbox-root3';

export interface RootDiskOptions {
  /** Size of the file system in bytes; computed from the rootfs content plus headroom when omitted. */
  sizeBytes?: number;
  /**
   * The image's record of every path (owner, group, mode, devices): where the rootfs as stored
   * differs (an unprivileged pull owns every file; no rootfs holds device nodes), the disk gets the
   * record's. Without it the disk holds what the rootfs holds.
   */
  owners?: DiskEntrySource;
  signal?: AbortSignal;
  /** Told once, when this call starts building the disk (not when it finds one ready or waits for another builder). */
  onBuild?: () => void;
}

/** A root disk and whether this call built it. */
export interface RootDisk {
  path: string;
  built: boolean;
  /** Paths whose owner and mode could not be written (names with control characters); empty when none or not built. */
  skipped?: string[];
}

/**
 * Returns the ext4 image of `rootfsPath` at `diskPath`, building it when missing (or made by an
 * older bbox): in a temporary file beside it, renamed into place when complete, under a lock file
 * so concurrent callers build it once. Owners and modes come from `opts.owners` when given, else
 * from the rootfs as stored.
 */
export async function ensureRootDisk(rootfsPath: string, diskPath: string, opts: RootDiskOptions = {}): Promise<RootDisk> {
  if (await isCurrentDisk(diskPath)) return { path: diskPath, built: false };
  await mkdir(dirname(diskPath), { recursive: true });
  const release = await acquireLock(`${diskPath}.lock`, diskPath, opts.signal);
  if (!release) return { path: diskPath, built: false };
  try {
    if (await isCurrentDisk(diskPath)) return { path: diskPath, built: false };
    opts.onBuild?.();
    const skipped = await buildDisk(rootfsPath, diskPath, opts);
    return { path: diskPath, built: true, skipped };
  } finally {
    await release();
  }
}

/** Bytes and inodes the rootfs needs on ext4 with 4 KiB blocks. */
export async function measureTree(root: string): Promise<{ bytes: number; inodes: number }> {
  const { bytes, inodes } = await walkTree(root);
  return { bytes, inodes };
}

async function buildDisk(rootfsPath: string, diskPath: string, opts: RootDiskOptions): Promise<string[]> {
  if (!(await stat(rootfsPath).then((s) => s.isDirectory(), () => false))) {
    throw new DiskBuildError(`rootfs ${rootfsPath} is not a directory: pull the image again`);
  }
  // The records are read while the tree is walked: both are needed before the owners are set.
  const [used, source] = await Promise.all([walkTree(rootfsPath), opts.owners?.()]);
  const entries = source ? [...source] : undefined;
  const devices = entries ? entries.filter(isSpecialFile).length : 0;
  const size = opts.sizeBytes ?? used.bytes + Math.ceil(used.bytes / 5) + used.inodes * 256 + HEADROOM;
  const sizeMiB = Math.max(64, Math.ceil(size / MiB));
  const inodes = used.inodes + devices + Math.max(16384, Math.ceil(used.inodes / 2));
  const tmp = `${diskPath}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const args = ['-q', '-F', '-t', 'ext4', '-b', String(BLOCK), '-m', '0', '-N', String(inodes), '-L', LABEL];
    // No journal: the disk is only ever written through a throwaway overlay.
    args.push('-O', '^has_journal', '-E', 'lazy_itable_init=1,root_owner=0:0', '-d', rootfsPath, tmp, `${sizeMiB}M`);
    // Without root, copy as root of a user namespace when allowed: far fewer owners to fix after.
    const mapped = entries !== undefined && process.getuid?.() !== 0 && (await rootMappingAvailable());
    const run = mapped ? runHostTool('unshare', [...AS_MAPPED_ROOT, findHostTool('mkfs.ext4'), ...args], { signal: opts.signal }) : runHostTool('mkfs.ext4', args, { signal: opts.signal });
    await run.catch((e: Error) => {
      throw new DiskBuildError(`building the root disk from ${rootfsPath} failed: ${e.message}`, { cause: e });
    });
    let skipped: string[] = [];
    // mkfs.ext4 always makes /lost+found: the guest's tree is the image's, so it goes unless the image has one.
    let script = used.stats.has('lost+found') ? '' : 'rmdir /lost+found\n';
    if (entries) {
      const copied = mapped ? seenAsMappedRoot(used.stats, process.getuid?.() ?? -1, process.getgid?.() ?? -1) : used.stats;
      const owners = ownerScript(entries, copied);
      script += owners.script;
      skipped = owners.skipped;
    }
    await applyOwnerScript(tmp, script, opts.signal);
    await rename(tmp, diskPath);
    return skipped;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** True when `diskPath` is a disk of the current format (its ext4 label, read from the superblock). */
async function isCurrentDisk(diskPath: string): Promise<boolean> {
  const fh = await open(diskPath, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    // The superblock starts at byte 1024; s_volume_name is 16 bytes at offset 0x78 in it.
    const label = Buffer.alloc(16);
    await fh.read(label, 0, 16, 1024 + 0x78);
    return label.toString('latin1').replace(/\0+$/, '') === LABEL && (await fh.stat()).isFile();
  } finally {
    await fh.close();
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
    if (await isCurrentDisk(donePath)) return undefined;
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

