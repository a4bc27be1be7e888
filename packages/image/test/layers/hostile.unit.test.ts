import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { makeLayer, snapshotTree, writeTar, type TarEntry, type TreeEntry } from '@broodbox/testkit';
import { composeRootfs, type StoredLayer } from '../../src/compose/compose.js';
import { extractLayer } from '../../src/layers/extract.js';
import { DEFAULT_LIMITS } from '../../src/layers/limits.js';
import type { ExtractLimits } from '../../src/types.js';

interface Scene {
  base: string;
  victim: string;
  store: string;
  rootfs: string;
  victimBefore: TreeEntry[];
}

/** A work dir with a "victim" directory next to the store and rootfs, holding a file layers aim at. */
async function scene(t: Test): Promise<Scene> {
  const base = await mkdtemp(join(tmpdir(), 'hostile-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const victim = join(base, 'victim');
  await mkdir(victim);
  await writeFile(join(victim, 'passwd'), 'host secret\n');
  await mkdir(join(victim, 'etc'));
  const store = join(base, 'store');
  return { base, victim, store, rootfs: join(base, 'rootfs'), victimBefore: await snapshotTree(victim) };
}

async function apply(s: Scene, layers: TarEntry[][], limits: ExtractLimits = DEFAULT_LIMITS): Promise<void> {
  const stored: StoredLayer[] = [];
  for (const [i, entries] of layers.entries()) {
    const layer = makeLayer(entries);
    const dir = join(s.store, `layer-${i}`);
    const index = await extractLayer(Readable.from([layer.blob]), { compression: 'gzip', diffID: layer.diffID, dir, limits });
    stored.push({ dir, index });
  }
  await composeRootfs(stored, s.rootfs);
}

/** Nothing outside the store and rootfs changed, and the store holds only what extraction makes. */
async function assertContained(t: Test, s: Scene): Promise<void> {
  t.same(await snapshotTree(s.victim), s.victimBefore, 'victim directory untouched');
  const stray = (await readdir(s.base)).filter((n) => !['rootfs', 'store', 'victim'].includes(n));
  t.same(stray, [], 'no stray paths next to the work dirs');
  for (const layer of await readdir(s.store).catch(() => [])) {
    const names = (await readdir(join(s.store, layer))).filter((n) => n !== 'index.json' && n !== 'files');
    t.same(names, [], `store layer ${layer} holds only its index and content files`);
  }
}

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const f = (path: string, content = 'x'): TarEntry => ({ path, type: 'file', content });
const d = (path: string): TarEntry => ({ path, type: 'dir' });
const sl = (path: string, linkname: string): TarEntry => ({ path, type: 'symlink', linkname });
const hl = (path: string, linkname: string): TarEntry => ({ path, type: 'hardlink', linkname });

t.test('entry names that climb out of the root are refused', async (t) => {
  for (const name of ['../x', 'a/../../x', '/../x', './../../victim/passwd']) {
    const s = await scene(t);
    await t.rejects(apply(s, [[d('a'), f(name, 'owned')]]), { code: 'LAYER_PATH_ESCAPE' }, name);
    t.same(await snapshotTree(s.victim), s.victimBefore, `${name}: victim untouched`);
  }
});

t.test('absolute entry names land inside the rootfs', async (t) => {
  const s = await scene(t);
  await apply(s, [[f(`${s.victim}/passwd`, 'owned'), f('/etc/hosts', 'h')]]);
  t.equal(await readFile(join(s.rootfs, s.victim, 'passwd'), 'utf8'), 'owned');
  t.equal(await readFile(join(s.rootfs, 'etc/hosts'), 'utf8'), 'h');
  await assertContained(t, s);
});

t.test('symlink escapes resolve inside the rootfs, within a layer and across layers', async (t) => {
  const cases: Array<[string, TarEntry[][], string]> = [
    ['absolute target, same layer', [[sl('evil', '/victim-abs'), f('evil/passwd', 'owned')]], 'victim-abs/passwd'],
    ['relative target climbing out', [[sl('evil', '../../..'), f('evil/passwd', 'owned')]], 'passwd'],
    ['chain of symlinks', [[sl('a', 'b'), sl('b', 'c'), sl('c', '../../../x'), f('a/passwd', 'owned')]], 'x/passwd'],
    ['across layers', [[sl('evil', '/etc')], [f('evil/passwd', 'owned')]], 'etc/passwd'],
    ['dir of a lower layer through a later symlink', [[d('etc')], [sl('lnk', '../../../../etc'), f('lnk/shadow', 'owned')]], 'etc/shadow'],
  ];
  for (const [name, layers, expected] of cases) {
    const s = await scene(t);
    // Point the absolute cases at the real victim too: it must still resolve inside the rootfs.
    const aimed = layers.map((l) => l.map((e) => (e.linkname === '/victim-abs' ? { ...e, linkname: s.victim } : e)));
    const want = expected.startsWith('victim-abs') ? join(s.victim.slice(1), 'passwd') : expected;
    await apply(s, aimed);
    t.equal(await readFile(join(s.rootfs, want), 'utf8'), 'owned', `${name}: written inside the rootfs`);
    await assertContained(t, s);
  }
});

t.test('hardlinks cannot reach host files', async (t) => {
  const s1 = await scene(t);
  await t.rejects(apply(s1, [[hl('h', `${s1.victim}/passwd`)]]), { code: 'LAYER_CONFLICT', reason: 'hardlink-target' });
  await assertContained(t, s1);
  const s2 = await scene(t);
  await t.rejects(apply(s2, [[sl('evil', s2.victim)], [hl('h', 'evil/passwd')]]), { code: 'LAYER_CONFLICT' });
  await assertContained(t, s2);
  const s3 = await scene(t);
  await t.rejects(apply(s3, [[hl('h', '../../victim/passwd')]]), { code: 'LAYER_PATH_ESCAPE' });
  await assertContained(t, s3);
  const s4 = await scene(t);
  // Through a symlinked directory that does exist in the image, the link joins the image's file.
  await apply(s4, [[d('etc'), f('etc/passwd', 'image'), sl('evil', '/etc')], [hl('h', 'evil/passwd')]]);
  t.equal(await readFile(join(s4.rootfs, 'h'), 'utf8'), 'image');
  await assertContained(t, s4);
});

t.test('whiteouts through symlinks only remove inside the rootfs', async (t) => {
  const s = await scene(t);
  await apply(s, [[sl('evil', s.victim), sl('rel', '../../victim'), d('etc'), f('etc/keep', 'k')], [f('evil/.wh.passwd', ''), f('rel/.wh.passwd', ''), f('evil/.wh..wh..opq', '')]]);
  t.equal(await readFile(join(s.rootfs, 'etc/keep'), 'utf8'), 'k');
  await assertContained(t, s);
});

t.test('device nodes and FIFOs are never created', async (t) => {
  const s = await scene(t);
  const layer = makeLayer([
    d('dev'),
    { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
    { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    { path: 'dev/fifo', type: 'fifo' },
    f('dev/ok'),
  ]);
  const dir = join(s.store, 'l');
  const index = await extractLayer(Readable.from([layer.blob]), { compression: 'gzip', diffID: layer.diffID, dir, limits: DEFAULT_LIMITS });
  t.same(index.skipped, { devices: 2, fifos: 1 });
  const res = await composeRootfs([{ dir, index }], s.rootfs);
  t.same(res.skipped, { devices: 2, fifos: 1 });
  t.same(await readdir(join(s.rootfs, 'dev')), ['ok']);
  await assertContained(t, s);
});

t.test('symlink loops end with a named error', async (t) => {
  const s = await scene(t);
  await t.rejects(apply(s, [[sl('loop', 'loop'), f('loop/x')]]), { code: 'LAYER_CONFLICT', reason: 'symlink-loop' });
  await assertContained(t, s);
});

t.test('a layer that does not match its diffID is refused', async (t) => {
  const s = await scene(t);
  const layer = makeLayer([f('a')]);
  const other = makeLayer([f('b')]);
  await t.rejects(
    extractLayer(Readable.from([layer.blob]), { compression: 'gzip', diffID: other.diffID, dir: join(s.store, 'l'), limits: DEFAULT_LIMITS }),
    { code: 'DIFFID_MISMATCH', expected: other.diffID, actual: layer.diffID },
  );
});

t.test('absurd header sizes, entry bombs and decompression bombs stop at the limits', async (t) => {
  const s = await scene(t);
  const limits = { maxBytes: 8 * 1024 * 1024, maxEntries: 100 };
  const huge = makeLayer(writeTar([{ path: 'big', type: 'file', content: 'tiny', sizeOverride: 8 ** 11 - 1 }]));
  await t.rejects(
    extractLayer(Readable.from([huge.blob]), { compression: 'gzip', diffID: huge.diffID, dir: join(s.store, 'h'), limits }),
    { code: 'LAYER_BYTE_LIMIT' },
  );
  await t.rejects(
    extractLayer(Readable.from([huge.blob]), { compression: 'gzip', diffID: huge.diffID, dir: join(s.store, 'h2'), limits: DEFAULT_LIMITS }),
    { code: 'LAYER_BAD_TAR' },
    'a header larger than the archive is a truncated archive',
  );
  const many = makeLayer(Array.from({ length: 150 }, (_, i) => f(`f${i}`)));
  await t.rejects(
    extractLayer(Readable.from([many.blob]), { compression: 'gzip', diffID: many.diffID, dir: join(s.store, 'm'), limits }),
    { code: 'LAYER_ENTRY_LIMIT' },
  );
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  const bombTar = writeTar([{ path: 'zeros', type: 'file', content: zeros }]);
  const bomb = gzipSync(bombTar);
  let seen = 0;
  await t.rejects(
    extractLayer(Readable.from([bomb]), {
      compression: 'gzip',
      diffID: 'sha256:' + '0'.repeat(64),
      dir: join(s.store, 'b'),
      limits,
      onBytes: (_c, u) => (seen = u),
    }),
    { code: 'LAYER_BYTE_LIMIT' },
  );
  t.ok(seen <= limits.maxBytes, `stopped before expanding past the limit (${seen} bytes)`);
  await assertContained(t, s);
});

t.test('malformed archives are refused with a named error', async (t) => {
  const s = await scene(t);
  const bad: Array<[string, Buffer]> = [
    ['root replaced by a symlink', writeTar([{ path: './', type: 'symlink', linkname: '/' }])],
    ['whiteout naming the parent', writeTar([f('a/.wh...')])],
    ['unknown entry type', writeTar([{ ...f('s'), typeflag: 'S' }])],
    ['truncated archive', writeTar([f('a', 'x'.repeat(2000))]).subarray(0, 1024)],
    ['nested gzip', gzipSync(writeTar([f('a')]))],
    ['name longer than any file system allows', writeTar([f(`${'n'.repeat(300)}`)])],
    ['path longer than any file system allows', writeTar([f(Array.from({ length: 2100 }, () => 'a').join('/'))])],
    ['owner id out of range', writeTar([{ ...f('u'), pax: { uid: String(2 ** 40) } }])],
  ];
  const corrupt = writeTar([f('a'), f('b')]);
  // Inside the second header (the first one and its body take 1024 bytes): the checksum no longer matches.
  corrupt.writeUInt8(corrupt.readUInt8(1034) ^ 0xff, 1034);
  bad.push(['bad header checksum', corrupt]);
  for (const [name, tar] of bad) {
    const layer = makeLayer(tar, { compression: 'none' });
    await t.rejects(
      // One byte per chunk: no check may rely on seeing a whole header at once.
      extractLayer(Readable.from(chunksOf(layer.blob, 1)), { compression: 'none', diffID: layer.diffID, dir: join(s.store, name.replace(/ /g, '-')), limits: DEFAULT_LIMITS }),
      { code: 'LAYER_BAD_TAR' },
      name,
    );
  }
  await assertContained(t, s);
});
