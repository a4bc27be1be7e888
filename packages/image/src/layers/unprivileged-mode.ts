/**
 * The permission bits a path gets on disk when a layer is unpacked without root. The image's
 * own bits stay in the layer index (and reach a VM disk from there); on disk, the owner, which is
 * the user who pulled, also gets read on files and read, write and search on directories. Without
 * them that user could not copy its own rootfs into a VM disk (`mkfs.ext4 -d` opens every file),
 * hash it for `verify`, clone it, or remove it again: images do ship `/etc/shadow` as 0000 (Fedora,
 * RHEL) and non-empty directories without owner write (`/root` as 0550). As root, nothing is added.
 */
export function modeOnDisk(mode: number, type: 'file' | 'dir' | 'symlink', root: boolean): number {
  if (root || type === 'symlink') return mode;
  return mode | (type === 'dir' ? DIR_OWNER_BITS : FILE_OWNER_BITS);
}

/** What an unprivileged unpack adds to a file's bits: the owner's read. */
export const FILE_OWNER_BITS = 0o400;
/** What an unprivileged unpack adds to a directory's bits: the owner's read, write and search. */
export const DIR_OWNER_BITS = 0o700;
