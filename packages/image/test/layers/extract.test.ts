import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { makeLayer, type Layer, type TarEntry } from '@broodbox/testkit';
import { composeRootfs } from '../../src/compose/compose.js';
import { extractLayer } from '../../src/layers/extract.js';
import { readLayerIndex, storeFilePath } from '../../src/layers/layer-index.js';
import { DEFAULT_LIMITS } from '../../src/layers/limits.js';

async function work(t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'layer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const entries: TarEntry[] = [
  { path: 'bin/', type: 'dir', mtime: 1_600_000_000 },
  { path: 'bin/tool', type: 'file', content: 'hello tool', mode: 0o4751, uid: 7, gid: 9, mtime: 1_600_000_123 },
  { path: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' },
  { path: 'lnk', type: 'symlink', linkname: 'bin/tool' },
  { path: 'gone/.wh.x', type: 'file' },
  { path: 'opq/.wh..wh..opq', type: 'file' },
];

for (const compression of ['gzip', 'zstd', 'none'] as const) {
  t.test(`extracts a ${compression} layer into the store and records every entry`, async (t) => {
    const dir = join(await work(t), 'l');
    const layer = makeLayer(entries, { compression });
    const progress: number[] = [];
    // Odd small chunks: nothing may depend on how the download is cut.
    const index = await extractLayer(Readable.from(chunksOf(layer.blob, 7)), {
      compression,
      diffID: layer.diffID,
      dir,
      limits: DEFAULT_LIMITS,
      onBytes: (c) => progress.push(c),
    });
    t.equal(index.diffID, layer.diffID);
    t.equal(index.bytes, layer.tar.length, 'uncompressed size recorded');
    t.equal(progress.at(-1), layer.blob.length, 'progress reaches the compressed size');
    t.same(
      index.entries.map((e) => [e.path, e.type]),
      [['bin', 'dir'], ['bin/tool', 'file'], ['bin/alias', 'hardlink'], ['lnk', 'symlink'], ['gone/x', 'whiteout'], ['opq', 'opaque']],
    );
    const tool = index.entries[1]!;
    t.match(tool, { mode: 0o4751, uid: 7, gid: 9, mtime: 1_600_000_123_000, size: 10 });
    t.equal(tool.digest, 'sha256:' + (await import('node:crypto')).createHash('sha256').update('hello tool').digest('hex'));
    const st = await stat(storeFilePath(dir, tool.id!));
    t.equal(st.mode & 0o7777, 0o4751, 'setuid applied after chown');
    t.equal(st.mtimeMs, 1_600_000_123_000);
    t.same([st.uid, st.gid], [7, 9], 'owner applied (running as root)');
    t.equal(await readFile(storeFilePath(dir, tool.id!), 'utf8'), 'hello tool');
    t.same(await readLayerIndex(dir), index, 'index saved beside the content');
  });
}

t.test('two images sharing a layer link the same store files; summaries tell trees apart', async (t) => {
  const root = await work(t);
  const base = makeLayer([{ path: 'etc/os-release', type: 'file', content: 'ID=test\n', mtime: 1 }]);
  const topA = makeLayer([{ path: 'a', type: 'file', content: 'a', mtime: 2 }]);
  const topB = makeLayer([{ path: 'a', type: 'file', content: 'b', mtime: 2 }]);
  const stored = async (l: Layer, name: string) => {
    const dir = join(root, name);
    return { dir, index: await extractLayer(Readable.from([l.blob]), { compression: 'gzip', diffID: l.diffID, dir, limits: DEFAULT_LIMITS }) };
  };
  const b = await stored(base, 'base');
  const a = await stored(topA, 'a');
  const bb = await stored(topB, 'b');
  const r1 = await composeRootfs([b, a], join(root, 'r1'));
  const r2 = await composeRootfs([b, bb], join(root, 'r2'));
  const r3 = await composeRootfs([b, a], join(root, 'r3'));
  const i1 = await stat(join(root, 'r1/etc/os-release'));
  const i2 = await stat(join(root, 'r2/etc/os-release'));
  const s = await stat(storeFilePath(b.dir, b.index.entries.find((e) => e.type === 'file')!.id!));
  t.equal(i1.ino, s.ino, 'rootfs file is the store inode');
  t.equal(i2.ino, s.ino, 'both images share it');
  t.equal(r1.summary, r3.summary, 'same layers, same summary');
  t.not(r1.summary, r2.summary, 'different content, different summary');
  t.match(r1, { files: 2, dirs: 2, bytes: 9 });
  t.match(r1.records.find((r) => r.path === 'a'), { type: 'file', size: 1, mtime: 2000 });
});

t.test('many files in several layers compose to the expected tree', async (t) => {
  const root = await work(t);
  const layers = [0, 1, 2].map((n) =>
    makeLayer(
      Array.from({ length: 700 }, (_, i): TarEntry => ({
        path: `d${i % 20}/f${i}`,
        type: 'file',
        content: `layer ${n} file ${i}`,
        mtime: 1000 + n,
      })),
    ),
  );
  const stored = [];
  for (const [i, l] of layers.entries()) {
    const dir = join(root, `l${i}`);
    stored.push({ dir, index: await extractLayer(Readable.from([l.blob]), { compression: 'gzip', diffID: l.diffID, dir, limits: DEFAULT_LIMITS }) });
  }
  const res = await composeRootfs(stored, join(root, 'rootfs'));
  t.equal(res.files, 700);
  t.equal(await readFile(join(root, 'rootfs/d5/f25'), 'utf8'), 'layer 2 file 25', 'top layer wins');
});

t.test('large files are streamed to the store with their metadata', async (t) => {
  const dir = join(await work(t), 'l');
  const big = Buffer.alloc(5 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  const layer = makeLayer([{ path: 'big', type: 'file', content: big, mode: 0o2640, uid: 3, gid: 4, mtime: 42 }]);
  const index = await extractLayer(Readable.from([layer.blob]), { compression: 'gzip', diffID: layer.diffID, dir, limits: DEFAULT_LIMITS });
  const e = index.entries[0]!;
  const st = await stat(storeFilePath(dir, e.id!));
  t.same([st.size, st.mode & 0o7777, st.uid, st.gid, st.mtimeMs], [big.length, 0o2640, 3, 4, 42_000]);
  t.ok((await readFile(storeFilePath(dir, e.id!))).equals(big), 'content intact');
  t.equal(e.digest, 'sha256:' + (await import('node:crypto')).createHash('sha256').update(big).digest('hex'));
});

t.test('empty layers are valid: end blocks only, or no bytes at all', async (t) => {
  const root = await work(t);
  for (const [name, tar] of [['end-blocks', Buffer.alloc(1024)], ['no-bytes', Buffer.alloc(0)]] as const) {
    const layer = makeLayer(tar);
    const index = await extractLayer(Readable.from([layer.blob]), { compression: 'gzip', diffID: layer.diffID, dir: join(root, name), limits: DEFAULT_LIMITS });
    t.same([index.entries, index.files, index.bytes], [[], 0, tar.length], name);
  }
});

t.test('an aborted extraction rejects with the abort reason, even while the input stalls', async (t) => {
  const dir = join(await work(t), 'l');
  const layer = makeLayer(Array.from({ length: 50 }, (_, i): TarEntry => ({ path: `f${i}`, type: 'file', content: 'x'.repeat(100_000) })));
  const ac = new AbortController();
  // Half the blob, then nothing more: only the signal can end this extraction.
  const stalled = new Readable({ read() {} });
  stalled.push(layer.blob.subarray(0, layer.blob.length >> 1));
  let progressed = 0;
  const onBytes = (c: number) => {
    progressed = c;
    if (!ac.signal.aborted) ac.abort(new Error('stop now'));
  };
  const done = extractLayer(stalled, { compression: 'gzip', diffID: layer.diffID, dir, limits: DEFAULT_LIMITS, signal: ac.signal, onBytes });
  await t.rejects(done, { message: 'stop now' });
  t.ok(progressed > 0 && progressed < layer.blob.length, 'aborted part-way through the blob');
});

t.test('without entries in memory, the index written as entries complete is the one a default extraction returns', async (t) => {
  const base = await work(t);
  // A file streamed over several batches ahead of small ones: they wait for its digest.
  const big = Buffer.alloc(3 * 1024 * 1024 + 5, 'z');
  const many: TarEntry[] = [
    { path: 'big', type: 'file', content: big },
    ...Array.from({ length: 3000 }, (_, i): TarEntry => ({ path: `d${i % 7}/f${i}`, type: 'file', content: `file ${i}` })),
    { path: 'd0/link', type: 'hardlink', linkname: 'big' },
  ];
  const layer = makeLayer(many, { compression: 'gzip' });
  const run = (dir: string, returnEntries: boolean) =>
    extractLayer(Readable.from(chunksOf(layer.blob, 4096)), { compression: 'gzip', diffID: layer.diffID, dir, limits: DEFAULT_LIMITS, returnEntries });
  const full = await run(join(base, 'a'), true);
  const lean = await run(join(base, 'b'), false);
  t.same(lean.entries, [], 'no entries returned');
  t.same({ ...lean, entries: full.entries }, full, 'same totals');
  t.same(await readLayerIndex(join(base, 'b')), full, 'the saved index has every entry, in archive order');
  t.equal(full.entries.filter((e) => e.type === 'file').length, 3001);
});
