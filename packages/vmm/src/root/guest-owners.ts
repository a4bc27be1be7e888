/**
 * The image's owners, groups, modes and special files for a root the guest sees through
 * virtio-fs. The share shows the rootfs as stored on the host: an unprivileged pull owns every
 * file (virtiofsd, as root of a user namespace mapping only that user, shows them as root's) and
 * no rootfs holds device nodes. The image's own record of each path is compared with that, and
 * the differences become a small shell script that the guest's /init runs in the root's overlay
 * before the command starts: `mknod` for special files, then `chown -h`, then `chmod` (a chown
 * clears set-id bits, so modes come last). The overlay copies up only the inode of what it changes.
 *
 * The script is kept beside the image (a cache artifact) and made again when the user differs or
 * the file is not one this module wrote whole.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isSpecialFile, mknodType, seenAsMappedRoot, TYPE_BITS, type CopiedStat, type DiskEntry, type DiskEntrySource } from '../disk/disk-owners.js';
import { shellQuote } from '../guest/guest-init.js';
import { walkTree } from './tree-walk.js';

const HIDDEN = /^(dev|proc|sys)\//;
/** The overlay's top directory as the guest's /init makes it: root's, mode 0755. */
const TOP: CopiedStat = { uid: 0, gid: 0, mode: 0o040755, inode: '' };

/** Whether the guest sees `path` (root-relative) of its root: not under /dev, /proc or /sys, where it mounts file systems of its own. */
export function visibleInGuest(path: string): boolean {
  return !HIDDEN.test(path);
}

/** Paths per command line: far below the kernel's argument limit, whatever the names. */
const PATHS_PER_LINE = 200;
const FORMAT = 'bbox-guest-owners v2';
const END = '# end';

/** The script and how many paths it changes. */
export interface GuestOwners {
  /** Shell commands run in the root's top directory; '' when nothing differs. */
  script: string;
  /** Paths given another owner, group or mode, or made. */
  changes: number;
}

/**
 * The commands that turn the tree as the guest sees it (`seen`, by root-relative path, `''` the
 * root) into what the image records. The root directory is compared with the overlay's top
 * directory as the guest's /init makes it, not with the host's. A path not seen and not special
 * is left alone, as is one whose type differs from the record (the tree as stored wins), and one
 * under the guest's /dev, /proc or /sys, which the mounts there hide.
 */
export function guestOwnersScript(entries: Iterable<DiskEntry>, seen: Map<string, CopiedStat>): GuestOwners {
  const nodes: string[] = [];
  const owners = new Map<string, string[]>();
  const modes = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, path: string) => {
    const list = map.get(key);
    if (list) list.push(path);
    else map.set(key, [path]);
  };
  const changed = new Set<string>();
  for (const e of entries) {
    // What the image holds under the guest's /dev, /proc and /sys is hidden by the mounts there.
    if (!visibleInGuest(e.path)) continue;
    const path = e.path === '' ? '.' : e.path;
    const st = seen.get(e.path);
    if (e.path !== '' && !st) {
      if (!isSpecialFile(e)) continue;
      nodes.push(`mknod ${shellQuote(path)} ${mknodType(e)}`);
    } else if (st && e.path !== '' && (st.mode & 0o170000) !== TYPE_BITS[e.type]) {
      continue;
    }
    const seenHere = e.path === '' ? TOP : st;
    const fresh = !seenHere;
    if (fresh || seenHere.uid !== e.uid || seenHere.gid !== e.gid) {
      add(owners, `${e.uid}:${e.gid}`, path);
      changed.add(path);
    }
    // A symlink's permission bits mean nothing (always 0777 on Linux); chmod would follow it.
    if (e.type !== 'symlink' && (fresh || (seenHere.mode & 0o7777) !== (e.mode & 0o7777))) {
      add(modes, (e.mode & 0o7777).toString(8).padStart(4, '0'), path);
      changed.add(path);
    }
  }
  const lines = [...nodes];
  for (const [owner, paths] of owners) lines.push(...chunked(`chown -h ${owner}`, paths));
  for (const [mode, paths] of modes) lines.push(...chunked(`chmod ${mode}`, paths));
  return { script: lines.length ? `${lines.join(' &&\n')}\n` : '', changes: changed.size };
}

function chunked(command: string, paths: string[]): string[] {
  const out: string[] = [];
  // `--`: an image path may start with a dash.
  for (let i = 0; i < paths.length; i += PATHS_PER_LINE) out.push(`${command} -- ${paths.slice(i, i + PATHS_PER_LINE).map(shellQuote).join(' ')}`);
  return out;
}

const header = () => `# ${FORMAT} uid=${process.getuid?.() ?? 0} gid=${process.getgid?.() ?? 0}\n`;

/** The script kept at `cachePath` for this user, or undefined when there is none (or not whole). */
export async function cachedGuestOwners(cachePath: string | undefined): Promise<string | undefined> {
  if (!cachePath) return undefined;
  const text = await readFile(cachePath, 'utf8').catch(() => undefined);
  const head = header();
  if (text !== undefined && text.startsWith(head) && text.endsWith(`${END}\n`)) return text.slice(head.length, -(END.length + 1));
  return undefined;
}

/**
 * Makes the guest owners script of `rootfsPath` for this user from `owners` (and, without root,
 * the tree), and keeps it at `cachePath` for {@link cachedGuestOwners} (atomically; a failed write
 * only costs the next run the same work). Without `owners`, '' (the guest sees the tree as stored).
 */
export async function makeGuestOwners(rootfsPath: string, owners: DiskEntrySource | undefined, cachePath: string | undefined): Promise<string> {
  if (!owners) return '';
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  // As root, the pull stored every path with the record's owner and mode (bbox refuses a cache
  // of mixed ownership, so a root's cache was written by root): the share shows the record, less
  // the special files no rootfs holds, and no walk of the tree is needed. Without root, virtiofsd
  // runs as root of a user namespace mapping only this user, which is what mkfs.ext4 as mapped
  // root sees too.
  const [tree, source] = await Promise.all([uid === 0 ? undefined : walkTree(rootfsPath), owners()]);
  const entries = [...source];
  const seen = tree ? seenAsMappedRoot(tree.stats, uid, gid) : storedAsRecorded(entries);
  const { script } = guestOwnersScript(entries, seen);
  if (cachePath) {
    const tmp = `${cachePath}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, `${header()}${script}${END}\n`, { mode: 0o644 })
      .then(() => rename(tmp, cachePath))
      .catch(() => rm(tmp, { force: true }));
  }
  return script;
}

/** What a root pull stores: every recorded path but the special files, with its recorded owner and mode. */
function storedAsRecorded(entries: DiskEntry[]): Map<string, CopiedStat> {
  const out = new Map<string, CopiedStat>();
  for (const e of entries) {
    if (isSpecialFile(e)) continue;
    out.set(e.path, { uid: e.uid, gid: e.gid, mode: TYPE_BITS[e.type] | (e.mode & 0o7777), inode: '' });
  }
  return out;
}
