/**
 * Reading files of an image's rootfs from the host the way the guest would see them: symlinks are
 * resolved inside the rootfs (an absolute target starts again at the rootfs, `..` stops at it), so a
 * hostile image cannot make the host read a file outside its rootfs.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_LINKS = 40;

/**
 * Resolves `guestPath` inside `root` and returns the host path of what it names, every symlink
 * having been followed within the root. Returns undefined when a component does not exist.
 */
export async function resolveInRoot(root: string, guestPath: string): Promise<string | undefined> {
  let pending = splitPath(guestPath);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending = [...splitPath(target), ...pending];
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) return undefined;
    done.push(part);
  }
  return join(root, ...done);
}

/**
 * Reads a regular file of the rootfs as text, at most `maxBytes`; undefined when it is missing or is
 * not a regular file. The final open refuses symlinks so the path checked is the path read.
 */
export async function readRootfsFile(root: string, guestPath: string, maxBytes = 4 << 20): Promise<string | undefined> {
  const host = await resolveInRoot(root, guestPath);
  if (host === undefined) return undefined;
  let fh;
  try {
    fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}
