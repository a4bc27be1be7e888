/**
 * A writer for cpio archives in the "newc" format, the one the Linux kernel unpacks as an
 * initramfs. Written here so that device nodes and ownership come out right without root.
 */

/** One archive member. Directories must come before what they contain. */
export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** Builds a complete newc archive (with its trailer) holding `entries`, owned by root, mtime 0. */
export function buildCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) parts.push(...member(e, ino++));
  parts.push(...record({ ino: 0, mode: 0, nlink: 1, rdev: [0, 0], name: 'TRAILER!!!', data: Buffer.alloc(0) }));
  return Buffer.concat(parts);
}

function member(e: CpioEntry, ino: number): Buffer[] {
  const name = e.path.replace(/^\/+/, '');
  switch (e.type) {
    case 'dir':
      return record({ ino, mode: S_IFDIR | (e.mode ?? 0o755), nlink: 2, rdev: [0, 0], name, data: Buffer.alloc(0) });
    case 'file':
      return record({ ino, mode: S_IFREG | (e.mode ?? 0o644), nlink: 1, rdev: [0, 0], name, data: e.data });
    case 'symlink':
      return record({ ino, mode: S_IFLNK | 0o777, nlink: 1, rdev: [0, 0], name, data: Buffer.from(e.target) });
    case 'chardev':
      return record({ ino, mode: S_IFCHR | (e.mode ?? 0o600), nlink: 1, rdev: [e.major, e.minor], name, data: Buffer.alloc(0) });
  }
}

function record(r: { ino: number; mode: number; nlink: number; rdev: [number, number]; name: string; data: Buffer }): Buffer[] {
  const nameBytes = Buffer.from(r.name + '\0');
  const fields = [r.ino, r.mode, 0, 0, r.nlink, 0, r.data.length, 0, 0, r.rdev[0], r.rdev[1], nameBytes.length, 0];
  const header = Buffer.from('070701' + fields.map((n) => n.toString(16).padStart(8, '0')).join(''), 'ascii');
  return [header, nameBytes, pad(header.length + nameBytes.length), r.data, pad(r.data.length)];
}

function pad(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}
