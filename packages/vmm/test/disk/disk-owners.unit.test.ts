// The debugfs batch that gives a root disk the image's owners: only what differs from the copy,
// hardlinks once, devices and FIFOs made in their directory, names quoted, unsafe names skipped.
// Real debugfs runs on a real image file in the VM tests; here the script itself is checked.
import t from 'tap';
import { ownerScript, type CopiedStat, type DiskEntry } from '../../src/disk/disk-owners.js';

const FILE = 0o100000;
const DIR = 0o040000;
const LINK = 0o120000;
const copied = (uid: number, gid: number, mode: number, inode: string): CopiedStat => ({ uid, gid, mode, inode });

t.test('only owners, groups and modes that differ from the copy get a command', async (t) => {
  const entries: DiskEntry[] = [
    { path: '', type: 'dir', uid: 0, gid: 0, mode: 0o755 },
    { path: 'etc', type: 'dir', uid: 0, gid: 0, mode: 0o755 },
    { path: 'etc/shadow', type: 'file', uid: 0, gid: 42, mode: 0o640 },
    { path: 'usr/bin/su', type: 'file', uid: 0, gid: 0, mode: 0o4755 },
    { path: 'usr/bin/su-link', type: 'file', uid: 0, gid: 0, mode: 0o4755 },
    { path: 'srv/link', type: 'symlink', uid: 42, gid: 42, mode: 0o777 },
    { path: 'same', type: 'file', uid: 1001, gid: 1001, mode: 0o644 },
  ];
  const disk = new Map([
    ['etc', copied(1001, 1001, DIR | 0o755, '1:2')],
    ['etc/shadow', copied(1001, 1001, FILE | 0o640, '1:3')],
    // setgid/setuid as the user got them: the bits are right, the owner is not.
    ['usr/bin/su', copied(1001, 1001, FILE | 0o4755, '1:4')],
    ['usr/bin/su-link', copied(1001, 1001, FILE | 0o4755, '1:4')],
    ['srv/link', copied(1001, 1001, LINK | 0o777, '1:5')],
    ['same', copied(1001, 1001, FILE | 0o644, '1:6')],
  ]);
  const out = ownerScript(entries, disk);
  t.same(out.script.trimEnd().split('\n'), [
    'sif "/" uid 0',
    'sif "/" gid 0',
    'sif "/" mode 040755',
    'sif "/etc" uid 0',
    'sif "/etc" gid 0',
    'sif "/etc/shadow" uid 0',
    'sif "/etc/shadow" gid 42',
    'sif "/usr/bin/su" uid 0',
    'sif "/usr/bin/su" gid 0',
    'sif "/srv/link" uid 42',
    'sif "/srv/link" gid 42',
  ]);
  t.equal(out.commands, 11);
  t.same(out.skipped, []);
});

t.test('a mode that differs is set with its type bits', async (t) => {
  const out = ownerScript([{ path: 'tmp', type: 'dir', uid: 0, gid: 0, mode: 0o1777 }], new Map([['tmp', copied(0, 0, DIR | 0o777, '1:1')]]));
  t.equal(out.script, 'sif "/tmp" mode 041777\n');
});

t.test('devices and FIFOs, which no rootfs holds, are made in their directory and given their owner', async (t) => {
  const out = ownerScript(
    [
      { path: 'dev/null', type: 'char', uid: 0, gid: 0, mode: 0o666, major: 1, minor: 3 },
      { path: 'var/loop9', type: 'block', uid: 0, gid: 6, mode: 0o660, major: 7, minor: 9 },
      { path: 'pipe', type: 'fifo', uid: 42, gid: 42, mode: 0o620 },
      // A regular file the rootfs lacks is not invented.
      { path: 'gone', type: 'file', uid: 0, gid: 0, mode: 0o644 },
    ],
    new Map(),
  );
  t.same(out.script.trimEnd().split('\n'), [
    'cd "/dev"', 'mknod "null" c 1 3', 'cd /', 'sif "/dev/null" uid 0', 'sif "/dev/null" gid 0', 'sif "/dev/null" mode 020666',
    'cd "/var"', 'mknod "loop9" b 7 9', 'cd /', 'sif "/var/loop9" uid 0', 'sif "/var/loop9" gid 6', 'sif "/var/loop9" mode 060660',
    'cd "/"', 'mknod "pipe" p', 'cd /', 'sif "/pipe" uid 42', 'sif "/pipe" gid 42', 'sif "/pipe" mode 010620',
  ]);
});

t.test('names are quoted; a name with a line break or other control character is never written', async (t) => {
  const disk = new Map([
    ['a b', copied(1, 1, FILE | 0o644, '1:1')],
    ['q"x', copied(1, 1, FILE | 0o644, '1:2')],
    ['evil\nwrite /etc/shadow x', copied(1, 1, FILE | 0o644, '1:3')],
    ['tab\there', copied(1, 1, FILE | 0o644, '1:4')],
  ]);
  const out = ownerScript(
    [...disk.keys()].map((path): DiskEntry => ({ path, type: 'file', uid: 0, gid: 1, mode: 0o644 })),
    disk,
  );
  t.same(out.script.trimEnd().split('\n'), ['sif "/a b" uid 0', 'sif "/q""x" uid 0']);
  t.same(out.skipped, ['evil\nwrite /etc/shadow x', 'tab\there']);
});

t.test('a path whose type on disk is not the recorded one is left alone', async (t) => {
  const out = ownerScript([{ path: 'x', type: 'dir', uid: 0, gid: 0, mode: 0o755 }], new Map([['x', copied(5, 5, FILE | 0o644, '1:1')]]));
  t.equal(out.script, '');
});

t.test('copied as root of a user namespace: the user files are root files, any other owner the overflow id', async (t) => {
  const { seenAsMappedRoot } = await import('../../src/disk/disk-owners.js');
  const seen = seenAsMappedRoot(new Map([['a', copied(1001, 1001, FILE | 0o644, '1:1')], ['b', copied(7, 1001, FILE | 0o644, '1:2')]]), 1001, 1001);
  t.same([...seen.entries()], [['a', copied(0, 0, FILE | 0o644, '1:1')], ['b', copied(65534, 0, FILE | 0o644, '1:2')]]);
  const out = ownerScript([{ path: 'a', type: 'file', uid: 0, gid: 0, mode: 0o644 }, { path: 'b', type: 'file', uid: 0, gid: 0, mode: 0o644 }], seen);
  t.equal(out.script, 'sif "/b" uid 0\n', 'only what the mapping got wrong is fixed');
});
