import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import {
  buildImage,
  diffTrees,
  makeLayer,
  snapshotTree,
  writeOciLayout,
  type Layer,
  type TarEntry,
  type TreeEntry,
  type TreeIgnore,
} from '@broodbox/testkit';
import { composeRootfs, type StoredLayer } from '../../src/compose/compose.js';
import { extractLayer } from '../../src/layers/extract.js';
import { DEFAULT_LIMITS } from '../../src/layers/limits.js';

const T0 = 1_600_000_000;
const dir = (path: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path, type: 'dir', mtime: T0, ...extra });
const file = (path: string, content: string, extra: Partial<TarEntry> = {}): TarEntry => ({
  path,
  type: 'file',
  content,
  mtime: T0 + 10,
  ...extra,
});
const symlink = (path: string, linkname: string): TarEntry => ({ path, type: 'symlink', linkname, mtime: T0 + 20 });
const hardlink = (path: string, linkname: string): TarEntry => ({ path, type: 'hardlink', linkname, mtime: T0 + 30 });
const marker = (path: string): TarEntry => ({ path, type: 'file', mtime: T0 });

async function extractAll(layers: Layer[], root: string): Promise<StoredLayer[]> {
  const out: StoredLayer[] = [];
  for (const [i, layer] of layers.entries()) {
    const layerDir = join(root, `layer-${i}`);
    await extractLayer(Readable.from([layer.blob]), {
      compression: 'gzip',
      diffID: layer.diffID,
      dir: layerDir,
      limits: DEFAULT_LIMITS,
      returnEntries: false,
    });
    // No index object: compose streams the index file the extraction wrote, as a pull does.
    out.push({ dir: layerDir });
  }
  return out;
}

function umociUnpack(layout: string, dest: string): void {
  const r = spawnSync('umoci', ['raw', 'unpack', '--image', `${layout}:test`, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umoci raw unpack failed: ${r.stderr}`);
}

/** The root directory's own metadata depends on who created it; compare what is inside. */
const inside = (tree: TreeEntry[]) => tree.filter((e) => e.path !== '.');

async function compareWithUmoci(t: Test, layers: TarEntry[][], ignore: TreeIgnore[] = [], withRoot = false): Promise<TreeEntry[]> {
  const work = await mkdtemp(join(tmpdir(), 'conformance-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const built = layers.map((entries) => makeLayer(entries));
  const image = buildImage({ layers: built });
  await writeOciLayout(join(work, 'layout'), [{ tag: 'test', image }]);
  umociUnpack(join(work, 'layout'), join(work, 'umoci'));
  const stored = await extractAll(built, join(work, 'store'));
  await composeRootfs(stored, join(work, 'ours'));
  const pick = withRoot ? (x: TreeEntry[]) => x : inside;
  const theirs = pick(await snapshotTree(join(work, 'umoci')));
  const ours = pick(await snapshotTree(join(work, 'ours')));
  t.same(diffTrees(theirs, ours, { ignore }), [], 'same tree as umoci raw unpack');
  return ours;
}

const find = (tree: TreeEntry[], path: string) => tree.find((e) => e.path === path);

t.test('multi-layer image with modes, owners, mtimes and long names', async (t) => {
  const long = `deep/${'d'.repeat(60)}/${'n'.repeat(80)}.txt`;
  const tree = await compareWithUmoci(t, [
    [
      dir('bin'),
      dir('etc'),
      dir('tmp', { mode: 0o1777 }),
      dir('srv', { mode: 0o2775, uid: 1000, gid: 1000 }),
      file('bin/su', 'su binary', { mode: 0o4755 }),
      file('bin/wall', 'wall binary', { mode: 0o2755, gid: 5 }),
      file('etc/passwd', 'root:x:0:0\n'),
      file('etc/shadow', 'secret', { mode: 0o640, gid: 42 }),
      file('srv/data', 'owned', { uid: 1000, gid: 1000, mtime: 1234567890 }),
      file('empty', ''),
      dir('deep'),
      dir(`deep/${'d'.repeat(60)}`),
      file(long, 'long name'),
    ],
    [dir('etc'), file('etc/passwd', 'root:x:0:0\nuser:x:1000:1000\n', { mtime: T0 + 100 }), file('etc/new', 'new')],
  ]);
  t.equal(find(tree, 'bin/su')?.mode, 0o4755, 'setuid kept');
  t.equal(find(tree, 'tmp')?.mode, 0o1777, 'sticky kept');
  t.equal(find(tree, long)?.sha256 !== undefined, true, 'long PAX name extracted');
  t.equal(find(tree, 'etc/passwd')?.mtime, T0 + 100, 'upper layer wins');
});

t.test('whiteouts of a file and of a directory', async (t) => {
  const tree = await compareWithUmoci(t, [
    [dir('a'), file('a/x', 'x'), file('a/y', 'y'), dir('d'), dir('d/sub'), file('d/sub/f', 'f')],
    [dir('a'), marker('a/.wh.x'), marker('.wh.d')],
  ]);
  t.notOk(find(tree, 'a/x'), 'whited-out file is gone');
  t.ok(find(tree, 'a/y'), 'its sibling stays');
  t.notOk(find(tree, 'd'), 'whited-out directory is gone');
});

t.test('opaque directory keeps new siblings that sort before the marker', async (t) => {
  const tree = await compareWithUmoci(t, [
    [dir('o'), file('o/old1', '1'), file('o/old2', '2'), dir('o/sub'), file('o/sub/f', 'f'), file('keep', 'k')],
    [dir('o'), file('o/.a-new', 'early'), marker('o/.wh..wh..opq'), file('o/z-new', 'late')],
  ]);
  t.ok(find(tree, 'o/.a-new'), 'sibling before the marker survives');
  t.ok(find(tree, 'o/z-new'), 'sibling after the marker survives');
  t.notOk(find(tree, 'o/old1'), 'lower content hidden');
  t.notOk(find(tree, 'o/sub'), 'lower subdirectory hidden');
});

t.test('a symlink replaced by a file, a directory replaced by a symlink', async (t) => {
  const tree = await compareWithUmoci(t, [
    [file('target', 't'), symlink('lnk', 'target'), dir('d'), file('d/f', 'f'), dir('other')],
    [file('lnk', 'now a file'), symlink('d', 'other')],
  ]);
  t.equal(find(tree, 'lnk')?.type, 'file');
  t.equal(find(tree, 'd')?.type, 'symlink');
  t.notOk(find(tree, 'd/f'), 'directory content gone with it');
});

t.test('a directory where a lower layer has a symlink, and writes through a lower symlink', async (t) => {
  const tree = await compareWithUmoci(t, [
    [dir('usr'), dir('usr/lib'), file('usr/lib/libc', 'c'), symlink('lib', 'usr/lib'), symlink('lib64', '/usr/lib')],
    [dir('lib'), file('lib/new', 'n'), file('lib64/libz', 'z')],
  ]);
  t.equal(find(tree, 'lib')?.type, 'dir', 'directory replaces the symlink');
  t.ok(find(tree, 'usr/lib/libz'), 'a file under a symlinked parent lands in its target');
});

t.test('hardlinks within a layer and to a lower layer', async (t) => {
  const tree = await compareWithUmoci(t, [
    [dir('bin'), file('bin/a', 'same inode', { mode: 0o755 }), hardlink('bin/b', 'bin/a'), file('lower', 'low')],
    [dir('bin'), hardlink('bin/c', 'bin/a'), hardlink('up', 'lower'), file('lower2', 'x'), hardlink('l2', '/lower2')],
  ]);
  t.equal(find(tree, 'bin/c')?.hardlinkGroup, 'bin/a', 'link to a lower file joins its group');
  t.equal(find(tree, 'up')?.hardlinkGroup, 'lower');
});

t.test('a file replaced by a directory, a directory by a file', async (t) => {
  const tree = await compareWithUmoci(t, [
    [file('x', 'file'), dir('y'), file('y/z', 'z')],
    [dir('x'), file('x/inner', 'i'), file('y', 'now a file')],
  ]);
  t.equal(find(tree, 'x')?.type, 'dir');
  t.equal(find(tree, 'y')?.type, 'file');
});

t.test('parents without their own entry are made (their mtime is the extractor\'s own)', async (t) => {
  const tree = await compareWithUmoci(t, [[file('p/q/r', 'deep')], [file('p/s', 's')]], ['dirMtime']);
  t.equal(find(tree, 'p/q')?.mode, 0o755);
});

t.test('a root entry sets the root directory metadata', async (t) => {
  const tree = await compareWithUmoci(t, [[dir('./', { mode: 0o751, mtime: T0 + 5 }), file('f', 'f')], [file('g', 'g')]], [], true);
  t.equal(find(tree, '.')?.mode, 0o751);
  t.equal(find(tree, '.')?.mtime, T0 + 5);
});

t.test('hardlink to a symlink links the symlink itself; whiteout of a symlink removes only the link', async (t) => {
  const tree = await compareWithUmoci(t, [
    [dir('d'), file('d/f', 'f'), symlink('s', 'd/f'), hardlink('h', 's'), symlink('sd', 'd')],
    [marker('.wh.sd')],
  ]);
  t.equal(find(tree, 'h')?.type, 'symlink');
  t.ok(find(tree, 'd/f'), 'the whited-out symlink\'s target stays');
});

t.test('whiteouts never remove what their own layer added, whatever the order', async (t) => {
  // umoci leaves the time of its own deletions on `d`; ours keeps the header's mtime.
  const tree = await compareWithUmoci(t, [
    [file('x', 'old'), dir('d'), file('d/a', 'a'), file('d/b', 'b'), file('y', 'y')],
    [file('x', 'new'), marker('.wh.x'), dir('d'), file('d/c', 'c'), marker('.wh.d'), marker('.wh.missing'), marker('nodir/.wh.y')],
  ], ['dirMtime']);
  t.equal(find(tree, 'x')?.size, 3, 'the new x survives a later whiteout of x');
  t.ok(find(tree, 'd/c'), 'a child added before the whiteout of its directory survives');
  t.notOk(find(tree, 'd/a'), 'lower children of the whited-out directory are gone');
});
