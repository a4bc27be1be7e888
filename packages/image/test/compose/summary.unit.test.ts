// The Merkle summary of a composed tree is stored with every cache entry at publish, and verify
// recomputes it from the layer indexes: its value for given indexes must never change, whatever
// the tree is built from. The expected value below was computed by the tree of objects this
// compact tree replaced.
import t from 'tap';
import { join } from 'node:path';
import { describeRootfs, readTree } from '../../src/compose/compose.js';
import { saveLayerIndex, type LayerEntry, type LayerIndex } from '../../src/layers/layer-index.js';

const D = (n: string) => `sha256:${n.repeat(64)}`;
const base = { uid: 0, gid: 0, mtime: 1700000000000 };
const totals = { bytes: 1, fileBytes: 1, files: 1, skipped: { devices: 0, fifos: 0 } };

const layers: LayerEntry[][] = [
  [
    { ...base, path: '', type: 'dir', mode: 0o755 },
    { ...base, path: 'etc', type: 'dir', mode: 0o755, xattrs: { 'user.note': 'aGk=' } },
    { ...base, path: 'etc/passwd', type: 'file', mode: 0o644, size: 10, id: 0, digest: D('a') },
    { ...base, path: 'etc/shadow', type: 'file', mode: 0o640, uid: 0, gid: 42, size: 5, id: 1, digest: D('b') },
    { ...base, path: 'usr/bin/tool', type: 'file', mode: 0o4755, size: 7, id: 2, digest: D('c') },
    { ...base, path: 'usr/bin/alias', type: 'hardlink', mode: 0o4755, linkname: 'usr/bin/tool' },
    { ...base, path: 'usr/lib', type: 'symlink', mode: 0o777, linkname: '/lib' },
    { ...base, path: 'lib/libé.so', type: 'file', mode: 0o755, size: 3, id: 3, digest: D('d') },
    { ...base, path: 'dev/null', type: 'device', mode: 0o666, device: { kind: 'char', major: 1, minor: 3 } },
    { ...base, path: 'run/fifo', type: 'fifo', mode: 0o600 },
    { ...base, path: 'old/gone', type: 'file', mode: 0o644, size: 0, id: 4, digest: D('e') },
  ],
  [
    { ...base, path: 'old/gone', type: 'whiteout', mode: 0 },
    // Through the symlink usr/lib -> /lib: lands in lib/.
    { ...base, path: 'usr/lib/libz.so', type: 'file', mode: 0o755, mtime: 1700000001500, size: 9, id: 0, digest: D('f') },
    { ...base, path: 'etc', type: 'opaque', mode: 0 },
    { ...base, path: 'etc/hosts', type: 'file', mode: 0o644, uid: 1000, gid: 1000, size: 2, id: 1, digest: D('0') },
    { ...base, path: 'etc/link', type: 'symlink', mode: 0o777, linkname: 'hosts', xattrs: { 'trusted.x': 'AAE=' } },
  ],
];
const indexes: LayerIndex[] = layers.map((entries, i) => ({ version: 1, diffID: D(String(i + 1)), ...totals, entries }));

const SUMMARY = 'sha256:ffd64a019861de4c08c73c01ce149fa40b7ceecd9519fa2f50acb8ea53b45eb3';
const PATHS = ['', 'dev', 'etc', 'etc/hosts', 'etc/link', 'lib', 'lib/libz.so', 'lib/libé.so', 'old', 'run', 'usr', 'usr/bin', 'usr/bin/alias', 'usr/bin/tool', 'usr/lib'];

t.test('the summary and records of a tree are those the tree of objects gave', async (t) => {
  const r = describeRootfs(indexes);
  t.equal(r.summary, SUMMARY);
  t.same(r.records.map((x) => x.path), PATHS);
  t.same([r.entries, r.files, r.hardlinks, r.symlinks, r.skipped], [15, 4, 1, 2, { devices: 1, fifos: 1 }]);
  t.equal(r.records.find((x) => x.path === 'usr/bin/tool')?.linkOf, 'usr/bin/alias', 'a hardlinked path names the first path (in order) of its inode');
  t.same(r.records.find((x) => x.path === 'etc/link')?.xattrs, { 'trusted.x': 'AAE=' });
  t.equal(r.records.find((x) => x.path === 'lib/libz.so')?.digest, D('f'));
});

t.test('a tree streamed from index files is the tree built from the same indexes in memory', async (t) => {
  const root = t.testdir({ layer0: {}, layer1: {} });
  const dirs = layers.map((_, i) => join(root, `layer${i}`));
  for (const [i, dir] of dirs.entries()) await saveLayerIndex(dir, indexes[i]!);
  const streamed = await readTree(dirs.map((dir) => ({ dir })));
  const walk = (dir: number, path: string): string[] =>
    streamed.sortedChildren(dir).flatMap(([name, child]) => {
      const p = path === '' ? name : `${path}/${name}`;
      return [p, ...(streamed.isDir(child) ? walk(child, p) : [])];
    });
  t.same(['', ...walk(streamed.root, '')].filter((p) => p !== 'dev/null' && p !== 'run/fifo'), PATHS);
});
