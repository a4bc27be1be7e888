// The streamed layer index reader (src/layers/index-reader.ts) against JSON.parse of the same
// file: both layouts of the index (totals before the entries, as saveLayerIndex writes them, and
// after, as the index writer does), entries long enough to cross its read chunks, and strings
// holding everything that could be taken for structure.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexWriter } from '../../src/layers/index-writer.js';
import { readLayerEntries, readLayerTotals } from '../../src/layers/index-reader.js';
import { LAYER_INDEX_FILE, readLayerIndex, saveLayerIndex, type LayerEntry, type LayerIndex } from '../../src/layers/layer-index.js';

const DIFF_ID = `sha256:${'ab'.repeat(32)}`;
const TRICKY = ['},{"path":"x"}', '[', ']', '\\', '"entries":[', 'é€😀', '\n\t', '{}'];

function entries(n: number): LayerEntry[] {
  return Array.from({ length: n }, (_, i): LayerEntry => {
    const name = `${'d'.repeat(i % 300)}${TRICKY[i % TRICKY.length]}${i}`;
    if (i % 7 === 0) return { path: `dir${i}`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: i * 1000 };
    if (i % 11 === 0) return { path: `link${i}`, type: 'symlink', mode: 0o777, uid: 1, gid: 2, mtime: 5, linkname: name };
    const e: LayerEntry = { path: name, type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtime: 1, size: i, id: i, digest: `sha256:${'0'.repeat(63)}${i % 10}` };
    if (i % 13 === 0) e.xattrs = { 'user.k': Buffer.from(name).toString('base64') };
    return e;
  });
}

const TOTALS = { bytes: 123456, fileBytes: 999, files: 42, skipped: { devices: 1, fifos: 2 } };

async function readAll(dir: string): Promise<{ entries: LayerEntry[]; totals: Awaited<ReturnType<typeof readLayerEntries>> }> {
  const seen: LayerEntry[] = [];
  const totals = await readLayerEntries(dir, (e) => seen.push(e));
  return { entries: seen, totals };
}

t.test('an index saved whole (totals first) reads back entry by entry as JSON.parse reads it', async (t) => {
  const dir = t.testdir();
  const index: LayerIndex = { version: 1, diffID: DIFF_ID, ...TOTALS, entries: entries(3000) };
  await saveLayerIndex(dir, index);
  const { entries: seen, totals } = await readAll(dir);
  t.same(seen, (await readLayerIndex(dir)).entries);
  t.equal(seen.length, 3000);
  t.same(totals, { version: 1, diffID: DIFF_ID, ...TOTALS, entryCount: 3000 });
});

t.test('an index written as entries complete (totals last) reads back the same', async (t) => {
  const dir = t.testdir();
  const list = entries(2500);
  const w = new IndexWriter(dir, DIFF_ID);
  for (const e of list) w.add(e);
  w.finish(TOTALS);
  const { entries: seen, totals } = await readAll(dir);
  t.same(seen, list);
  t.same(totals, { version: 1, diffID: DIFF_ID, ...TOTALS, entryCount: 2500 });
  t.same(await readLayerTotals(dir), totals, 'the totals alone, entries skipped');
});

t.test('an empty layer has totals and no entries', async (t) => {
  const dir = t.testdir();
  await saveLayerIndex(dir, { version: 1, diffID: DIFF_ID, ...TOTALS, entries: [] });
  const { entries: seen, totals } = await readAll(dir);
  t.same(seen, []);
  t.equal(totals.entryCount, 0);
});

t.test('an index of an unknown version, without entries or cut short is refused', async (t) => {
  for (const [what, text] of [
    ['version 2', JSON.stringify({ version: 2, diffID: DIFF_ID, ...TOTALS, entries: [] })],
    ['no entries', JSON.stringify({ version: 1, diffID: DIFF_ID, ...TOTALS })],
    ['cut short', JSON.stringify({ version: 1, diffID: DIFF_ID, ...TOTALS, entries: entries(10) }).slice(0, -40)],
    ['an entry left open', '{"version":1,"entries":[{"path":"a",'],
  ] as const) {
    await t.test(what, async (t) => {
      const dir = t.testdir();
      await writeFile(join(dir, LAYER_INDEX_FILE), text);
      await t.rejects(readLayerEntries(dir, () => undefined), /unknown format/);
      await t.rejects(readLayerTotals(dir), /unknown format/);
    });
  }
});
