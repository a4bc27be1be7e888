// imageOwners with `specialFiles`: the root's record and the chosen devices and FIFOs, the same as
// the full answer filtered, and without building the tree when no layer records such a file.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { readImageOwners, type OwnedPath } from '../../src/compose/image-owners.js';
import { saveLayerIndex, type LayerEntry, type LayerIndex } from '../../src/layers/layer-index.js';

const D = (n: string) => `sha256:${n.repeat(64)}`;
const base = { uid: 0, gid: 0, mtime: 1700000000000 };
const totals = { bytes: 1, fileBytes: 1, files: 1, skipped: { devices: 0, fifos: 0 } };
const dev = (path: string, minor: number): LayerEntry => ({ ...base, path, type: 'device', mode: 0o666, device: { kind: 'char', major: 1, minor } });

async function owners(t: Test, layers: LayerEntry[][], wanted?: (path: string) => boolean) {
  const root = t.testdir(Object.fromEntries(layers.map((_, i) => [`layer${i}`, {}])));
  const dirs = layers.map((_, i) => join(root, `layer${i}`));
  const indexes: LayerIndex[] = layers.map((entries, i) => ({ version: 1, diffID: D(String(i + 1)), ...totals, entries }));
  for (const [i, dir] of dirs.entries()) await saveLayerIndex(dir, indexes[i]!);
  const full = await readImageOwners(dirs);
  const some = await readImageOwners(dirs, wanted ? { specialFiles: wanted } : {});
  const special = (e: OwnedPath) => e.path === '' || ((e.type === 'char' || e.type === 'block' || e.type === 'fifo') && (wanted ?? (() => true))(e.path));
  return { full: full.entries, some: some.entries, expected: full.entries.filter(special) };
}

const outsideDev = (p: string) => !/^(dev|proc|sys)\//.test(p);

t.test('devices only under /dev: the root record alone, as the full answer gives it', async (t) => {
  const got = await owners(t, [
    [{ ...base, path: '', type: 'dir', mode: 0o755 }, { ...base, path: 'dev', type: 'dir', mode: 0o755 }, dev('dev/null', 3), { ...base, path: 'etc', type: 'dir', mode: 0o755 }],
    [{ ...base, path: '', type: 'dir', mode: 0o700, uid: 5, gid: 6 }, { ...base, path: 'etc/x', type: 'file', mode: 0o644, size: 1, id: 0, digest: D('a') }],
  ], outsideDev);
  t.same(got.some, got.expected);
  t.same(got.some, [{ path: '', type: 'dir', uid: 5, gid: 6, mode: 0o700 }], "the upper layer's root record wins");
});

t.test('a FIFO, a device hardlinked out of /dev, and a device a whiteout removed', async (t) => {
  const got = await owners(t, [
    [
      { ...base, path: '', type: 'dir', mode: 0o755 },
      { ...base, path: 'dev', type: 'dir', mode: 0o755 },
      dev('dev/zero', 5),
      { ...base, path: 'var', type: 'dir', mode: 0o755 },
      dev('var/gone', 7),
      { ...base, path: 'var/pipe', type: 'fifo', mode: 0o620, uid: 42, gid: 42 },
    ],
    [
      { ...base, path: 'var/gone', type: 'whiteout', mode: 0 },
      { ...base, path: 'var/zero-link', type: 'hardlink', mode: 0o666, linkname: 'dev/zero' },
    ],
  ], outsideDev);
  t.same(got.some, got.expected, 'the tree was built: the same records as the full answer, filtered');
  t.same(got.some.map((e) => e.path).sort(), ['', 'var/pipe', 'var/zero-link'], 'the whiteout is applied; the hardlink is a device');
});

t.test('without a filter, every record', async (t) => {
  const got = await owners(t, [[{ ...base, path: '', type: 'dir', mode: 0o755 }, { ...base, path: 'a', type: 'file', mode: 0o644, size: 1, id: 0, digest: D('b') }]]);
  t.same(got.some, got.full);
});
