import t from 'tap';
import { guestOwnersScript } from '../../src/root/guest-owners.js';
import type { CopiedStat, DiskEntry } from '../../src/disk/disk-owners.js';

const FILE = 0o100000;
const DIR = 0o040000;
const entry = (path: string, type: DiskEntry['type'], uid: number, gid: number, mode: number, extra: Partial<DiskEntry> = {}): DiskEntry => ({ path, type, uid, gid, mode, ...extra });
const seen = (rows: Array<[string, number, number, number]>) => new Map<string, CopiedStat>(rows.map(([p, uid, gid, mode], i) => [p, { uid, gid, mode, inode: `1:${i}` }]));

t.test('nothing to do when the share shows what the image records', async (t) => {
  const got = guestOwnersScript([entry('', 'dir', 0, 0, 0o755), entry('bin', 'dir', 0, 0, 0o755), entry('bin/sh', 'file', 0, 0, 0o755)], seen([['', 1000, 1000, DIR | 0o700], ['bin', 0, 0, DIR | 0o755], ['bin/sh', 0, 0, FILE | 0o755]]));
  t.same(got, { script: '', changes: 0 }, "the root is compared with the overlay's top directory (root's, 0755), not the host's");
});

t.test('owners first, then modes (a chown clears set-id bits), special files made first', async (t) => {
  const entries = [
    entry('', 'dir', 0, 0, 0o700),
    entry('srv/app', 'dir', 42, 42, 0o750),
    entry('usr/bin/su', 'file', 0, 0, 0o4755),
    entry('srv/app/link', 'symlink', 42, 42, 0o777),
    entry('var/null', 'char', 0, 0, 0o666, { major: 1, minor: 3 }),
    entry('var/pipe', 'fifo', 42, 42, 0o620),
  ];
  const view = seen([['srv/app', 0, 0, DIR | 0o755], ['usr/bin/su', 0, 0, FILE | 0o755], ['srv/app/link', 0, 0, 0o120777]]);
  const { script, changes } = guestOwnersScript(entries, view);
  t.equal(
    script,
    [
      "mknod 'var/null' c 1 3",
      "mknod 'var/pipe' p",
      "chown -h 42:42 -- 'srv/app' 'srv/app/link' 'var/pipe'",
      "chown -h 0:0 -- 'var/null'",
      "chmod 0700 -- '.'",
      "chmod 0750 -- 'srv/app'",
      "chmod 4755 -- 'usr/bin/su'",
      "chmod 0666 -- 'var/null'",
      "chmod 0620 -- 'var/pipe'",
    ].join(' &&\n') + '\n',
  );
  t.equal(changes, 6);
});

t.test("hidden paths, type changes and hostile names", async (t) => {
  const entries = [
    entry('dev/null', 'char', 0, 0, 0o666, { major: 1, minor: 3 }),
    entry('proc/x', 'file', 5, 5, 0o600),
    entry('opt/thing', 'dir', 42, 42, 0o711),
    entry("-rf it's", 'file', 7, 7, 0o644),
  ];
  const view = seen([['opt/thing', 0, 0, FILE | 0o644], ['proc/x', 0, 0, FILE | 0o644], ["-rf it's", 0, 0, FILE | 0o644]]);
  const { script } = guestOwnersScript(entries, view);
  t.equal(script, "chown -h 7:7 -- '-rf it'\\''s'\n", "/dev and /proc are skipped, a path of another type is left alone, a name is quoted after --");
});

t.test('long lists are split into command lines of 200 paths', async (t) => {
  const entries = Array.from({ length: 450 }, (_, i) => entry(`f${i}`, 'file', 1, 1, 0o644));
  const view = seen(entries.map((e) => [e.path, 0, 0, FILE | 0o644]));
  const lines = guestOwnersScript(entries, view).script.trim().split(' &&\n');
  t.equal(lines.length, 3);
  t.same(lines.map((l) => l.split(' -- ')[1]!.split(' ').length), [200, 200, 50]);
});
