import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { startWorker } from '../src/start-worker.js';
import type { BatchResult } from '../src/verify/fs-worker-pool.js';

const here = new URL('.', import.meta.url).pathname;

async function listThroughThread(base: string): Promise<BatchResult[]> {
  const w = startWorker(base, 'fs-thread');
  try {
    w.postMessage([{ op: 'list', path: here }]);
    const [answer] = (await once(w, 'message')) as [BatchResult[]];
    return answer;
  } finally {
    await w.terminate();
  }
}

t.test('a worker thread starts from the TypeScript sources (through tsx)', async (t) => {
  const base = new URL('../src/verify/fs-worker-pool.ts', import.meta.url).href;
  const [out] = await listThroughThread(base);
  t.ok((out as { names?: string[] }).names?.includes('start-worker.unit.test.ts'), 'the thread answered');
});

t.test('a worker thread starts from the compiled package (dist)', async (t) => {
  const compiled = new URL('../dist/verify/fs-worker-pool.js', import.meta.url);
  t.ok(existsSync(compiled), 'the package is built (pnpm run build)');
  const [out] = await listThroughThread(pathToFileURL(compiled.pathname).href);
  t.ok((out as { names?: string[] }).names?.includes('start-worker.unit.test.ts'), 'the thread answered');
});
