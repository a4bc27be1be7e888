/**
 * Giving a root disk the image's owners, groups and modes. `mkfs.ext4 -d` copies what it finds
 * on the host: run by an unprivileged user, every file belongs to that user, and device nodes
 * (which only root can make) are missing. The image's own record of each path is compared with
 * what was copied, and only the differences are fixed, with one `debugfs -w -f` batch that edits
 * the image file's inodes (no mount, no root).
 */
import type { OwnedPath } from '@broodbox/image';
import { DiskBuildError } from '../errors.js';
import { runHostTool, runHostToolCapture } from '../host/host-tool.js';

/** What the image says about one path of its rootfs: the image library's record of it. */
export type DiskEntry = OwnedPath;

/** The records of the whole tree, asked for only when a disk is built. */
export type DiskEntrySource = () => Promise<Iterable<DiskEntry>>;

/** What lstat found for a path of the rootfs that mkfs.ext4 copied. */
export interface CopiedStat {
  uid: number;
  gid: number;
  /** Full st_mode (type bits included). */
  mode: number;
  /** `dev:ino`: hardlinked paths are one inode, fixed once. */
  inode: string;
}

/** st_mode type bits of each entry type. */
export const TYPE_BITS: Record<DiskEntry['type'], number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

/** A device node or FIFO: what no rootfs holds, and what has to be made where the image's tree is given. */
export function isSpecialFile(e: DiskEntry): boolean {
  return e.type === 'char' || e.type === 'block' || e.type === 'fifo';
}

/** The type arguments `mknod NAME …` takes for a special file, in debugfs and in busybox alike: `p`, or `c|b MAJOR MINOR`. */
export function mknodType(e: DiskEntry): string {
  return e.type === 'fifo' ? 'p' : `${e.type === 'char' ? 'c' : 'b'} ${e.major ?? 0} ${e.minor ?? 0}`;
}

/** The commands and what could not be expressed. */
export interface OwnerScript {
  /** debugfs commands, one a line. */
  script: string;
  commands: number;
  /** Paths left as mkfs.ext4 copied them: a name debugfs cannot take (control characters). */
  skipped: string[];
}

/**
 * debugfs commands that turn what mkfs.ext4 copied (`copied`, by root-relative path) into what
 * the image records: `sif` for each owner, group or mode that differs, `mknod` for devices and
 * FIFOs (never in a rootfs, which holds no special files). Hardlinked paths share an inode and are
 * fixed once. A path not copied and not special is left alone: the disk holds what the rootfs has.
 */
export function ownerScript(entries: Iterable<DiskEntry>, copied: Map<string, CopiedStat>): OwnerScript {
  const lines: string[] = [];
  const skipped: string[] = [];
  const fixed = new Set<string>();
  for (const e of entries) {
    if (!nameIsSafe(e.path)) {
      skipped.push(e.path);
      continue;
    }
    const target = e.path === '' ? '/' : `/${e.path}`;
    const want = TYPE_BITS[e.type] | (e.mode & 0o7777);
    const st = copied.get(e.path);
    if (e.path === '') {
      // mkfs.ext4 makes the root itself (root_owner=0:0): always given the image's.
      lines.push(...sif(target, 'uid', e.uid), ...sif(target, 'gid', e.gid), ...sif(target, 'mode', want));
      continue;
    }
    if (!st) {
      if (isSpecialFile(e)) lines.push(...makeNode(e, want));
      continue;
    }
    if (fixed.has(st.inode) || (st.mode & 0o170000) !== TYPE_BITS[e.type]) continue;
    fixed.add(st.inode);
    if (st.uid !== e.uid) lines.push(...sif(target, 'uid', e.uid));
    if (st.gid !== e.gid) lines.push(...sif(target, 'gid', e.gid));
    // A symlink's permission bits mean nothing and are always 0777 on Linux.
    if (e.type !== 'symlink' && (st.mode & 0o7777) !== (e.mode & 0o7777)) lines.push(...sif(target, 'mode', want));
  }
  return { script: lines.length ? `${lines.join('\n')}\n` : '', commands: lines.length, skipped };
}

function sif(target: string, field: 'uid' | 'gid' | 'mode', value: number): string[] {
  return [`sif ${quote(target)} ${field} ${field === 'mode' ? `0${value.toString(8)}` : String(value)}`];
}

/** debugfs makes a node in its current directory, by name only. */
function makeNode(e: DiskEntry, want: number): string[] {
  const slash = e.path.lastIndexOf('/');
  const parent = slash < 0 ? '/' : `/${e.path.slice(0, slash)}`;
  const name = e.path.slice(slash + 1);
  const target = `/${e.path}`;
  return [`cd ${quote(parent)}`, `mknod ${quote(name)} ${mknodType(e)}`, 'cd /', ...sif(target, 'uid', e.uid), ...sif(target, 'gid', e.gid), ...sif(target, 'mode', want)];
}

/**
 * debugfs splits a command line on white space; double quotes group, and a doubled quote inside
 * them is a literal one. A line break cannot be written at all, and a name holding one could
 * start a command of its own: names with control characters are never written into the script.
 */
function nameIsSafe(path: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x1f\x7f]/.test(path);
}

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Runs the script against the (unmounted) image file; any complaint of debugfs fails the build. */
export async function applyOwnerScript(image: string, script: string, signal?: AbortSignal): Promise<void> {
  if (!script) return;
  // `-f -`: commands from stdin. debugfs echoes each command on stdout, reports a failed one on
  // stderr and still exits 0; its banner goes to stderr too.
  const { stderr } = await runHostToolCapture('debugfs', ['-w', '-f', '-', image], { input: script, ...(signal ? { signal } : {}) });
  const problems = stderr.split('\n').filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l));
  if (problems.length) {
    throw new DiskBuildError(`setting the image's owners on the root disk failed: ${problems.slice(0, 5).join(' | ')}`);
  }
}

/**
 * Without root, `mkfs.ext4 -d` can run in a user namespace where this user is root
 * (`unshare --user --map-root-user`, no helper or subordinate ids needed): every file of the
 * rootfs, which this user owns, is then copied as root's, which most files of an image are, so
 * debugfs only fixes the rest (on the reference image, 51 commands instead of 34k). False where
 * user namespaces are not allowed (a sysctl, a container's seccomp profile): then every owner is
 * fixed by debugfs, which is slower but gives the same disk.
 */
export function rootMappingAvailable(): Promise<boolean> {
  // BBOX_DISK_USERNS=0 takes the other path on purpose (tests, or a host where it misbehaves).
  if (process.env.BBOX_DISK_USERNS === '0') return Promise.resolve(false);
  return (mappingProbe ??= runHostTool('unshare', ['--user', '--map-root-user', 'true']).then(
    () => true,
    () => false,
  ));
}
let mappingProbe: Promise<boolean> | undefined;

/** Prefix of a command run as root of a user namespace that maps only this user. */
export const AS_MAPPED_ROOT = ['--user', '--map-root-user'];

/**
 * What mkfs.ext4 copied when it ran as mapped root: this user's files as root's, any other owner
 * (none, in a rootfs this user unpacked) as the overflow id.
 */
export function seenAsMappedRoot(copied: Map<string, CopiedStat>, uid: number, gid: number): Map<string, CopiedStat> {
  const out = new Map<string, CopiedStat>();
  for (const [path, st] of copied) out.set(path, { ...st, uid: st.uid === uid ? 0 : OVERFLOW_ID, gid: st.gid === gid ? 0 : OVERFLOW_ID });
  return out;
}
const OVERFLOW_ID = 65534;
