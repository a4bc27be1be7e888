/** What lstat finds in a tree: its size on ext4, and each path's owner, group, mode and inode. */
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopiedStat } from '../disk/disk-owners.js';

const BLOCK = 4096;

/** Bytes and inodes a tree needs on ext4 with 4 KiB blocks, and lstat of every path (root-relative, `''` the root). */
export async function walkTree(root: string): Promise<{ bytes: number; inodes: number; stats: Map<string, CopiedStat> }> {
  let bytes = 0;
  let inodes = 1;
  const stats = new Map<string, CopiedStat>();
  const top = await lstat(root);
  stats.set('', { uid: top.uid, gid: top.gid, mode: top.mode, inode: `${top.dev}:${top.ino}` });
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = await readdir(dir);
    // One directory's lstats at once: the thread pool overlaps them (several times faster than
    // one at a time); directories one after another, so open directories stay few.
    const sts = await Promise.all(names.map((name) => lstat(join(dir, name))));
    for (const [i, name] of names.entries()) {
      const st = sts[i] as Stats;
      const path = rel === '' ? name : `${rel}/${name}`;
      stats.set(path, { uid: st.uid, gid: st.gid, mode: st.mode, inode: `${st.dev}:${st.ino}` });
      inodes++;
      if (st.isDirectory()) {
        bytes += BLOCK;
        await walk(join(dir, name), path);
      } else if (st.isFile() || (st.isSymbolicLink() && st.size >= 60)) {
        bytes += Math.ceil(st.size / BLOCK) * BLOCK;
      }
    }
  };
  await walk(root, '');
  return { bytes, inodes, stats };
}
