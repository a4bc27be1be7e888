import t from 'tap';
import { readFile } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { storeFilePath } from '../../src/layers/layer-index.js';
import { StoreWriter } from '../../src/layers/store-writer.js';

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };
const threadOf = (w: StoreWriter) => (w as unknown as { worker: Worker }).worker;

t.test('files handed to the writer are on disk once flush resolves', async (t) => {
  const dir = t.testdir();
  const w = new StoreWriter(dir, { bufferBudget: 1 << 20, chown: false });
  for (let id = 0; id < 3; id++) {
    const sink = w.begin(id, meta);
    sink.push(Buffer.from(`file ${id}\n`));
    sink.end();
  }
  await w.flush();
  for (let id = 0; id < 3; id++) t.equal(await readFile(storeFilePath(dir, id), 'utf8'), `file ${id}\n`);
});

t.test('a writer thread that stops before finishing fails the flush instead of leaving it waiting', async (t) => {
  const dir = t.testdir();
  const w = new StoreWriter(dir, { bufferBudget: 16, chown: false });
  const sink = w.begin(0, meta);
  sink.push(Buffer.alloc(64, 1));
  sink.end();
  await threadOf(w).terminate();
  await w.whenBelowBudget();
  t.equal((w.error as Error & { code?: string } | undefined)?.code, 'STORE_WRITER_STOPPED', 'the stop is recorded as a failure');
  await t.rejects(w.flush(), { name: 'StoreWriteError', code: 'STORE_WRITER_STOPPED' });
});

t.test('a batch counts against the budget with its whole buffer and its operations, not only its file bytes', async (t) => {
  const dir = t.testdir();
  const w = new StoreWriter(dir, { bufferBudget: 1 << 20, chown: false });
  const inFlight = () => (w as unknown as { inFlight: number }).inFlight;
  for (let id = 0; id < 100; id++) {
    const sink = w.begin(id, meta);
    sink.push(Buffer.from('x'));
    sink.end();
  }
  w.send();
  // 100 bytes of files: a budget counting only those would let a layer of tiny files queue whole.
  t.ok(inFlight() >= 64 * 1024 + 100 * 64, `in flight: ${inFlight()} bytes`);
  await w.flush();
  t.equal(inFlight(), 0, 'every answered batch is taken off');
});
