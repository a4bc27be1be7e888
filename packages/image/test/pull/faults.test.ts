import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  buildImage,
  diffTrees,
  inspectCacheDir,
  makeLayer,
  pushImage,
  snapshotTree,
  startProxy,
  startRegistry,
  tempDir,
  type FaultRule,
  type TreeEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher, type PullResult } from '../../src/pull/pull.js';
import { RegistryFetcher } from '../../src/pull/registry-fetcher.js';

// Registry faults injected by a loopback proxy in front of the real registry. Each pull ends in
// recovery (same tree as a clean pull) or in one named error; the cache never keeps anything
// unverified, and tmp/ is empty once the pull has returned.

const TIMEOUT_MS = 1500;
const reg = await startRegistry();
t.teardown(() => reg.stop());
const proxy = await startProxy({ target: reg.url });
t.teardown(() => proxy.stop());
const base = await tempDir(t, 'bbox-faults-');

function fileLayer(name: string, bytes: number) {
  return makeLayer([
    { path: `${name}/`, type: 'dir' },
    { path: `${name}/data`, type: 'file', content: randomBytes(bytes), mode: 0o644 },
    { path: `${name}/link`, type: 'symlink', linkname: 'data' },
  ]);
}

const layers = [fileLayer('base', 400_000), fileLayer('mid', 300_000), fileLayer('top', 200_000)];
const img = buildImage({ layers, config: { Cmd: ['/bin/sh'] } });
await pushImage(reg.url, 'faults/app', img, { tag: 'v1' });
const trueLayers = new Set(layers.map((l) => l.diffID.replace(':', '-')));
const blobPath = (i: number) => new RegExp(`/blobs/${layers[i]!.digest}$`);
const manifestPath = /\/manifests\//;
const REF = `${proxy.host}/faults/app:v1`;
const PINNED = `${proxy.host}/faults/app@${img.digest}`;
const stats = { cases: 0, faultsInjected: 0, recovered: 0, clearErrors: 0 };

let caseNo = 0;
function fetcher(opts: { retries?: number } = {}): RegistryFetcher {
  return new RegistryFetcher({ timeoutMs: TIMEOUT_MS, retryBaseMs: 20, retries: opts.retries ?? 3 });
}

/** Every scenario must end well within this; a pull still running then is a failure in itself. */
const DEADLINE_MS = Number(process.env.BBOX_FAULT_DEADLINE_MS ?? 15_000);

/**
 * A pull bounded by DEADLINE_MS: at the deadline its signal is aborted and the scenario fails with
 * DEADLINE whether or not the pull honours the abort (a pull that ignores it must not hang the suite).
 */
async function pull(ref: string, cacheDir: string, retries?: number): Promise<PullResult | (Error & { code?: string })> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Error & { code?: string }>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      const e = new Error(`the pull did not end within ${DEADLINE_MS} ms (${proxy.requests.length} requests made)`) as Error & { code?: string };
      e.code = 'DEADLINE';
      resolve(e);
    }, DEADLINE_MS);
  });
  const pulled = pullWithFetcher(ref, {
    cache: new Cache(cacheDir),
    platform: 'linux/amd64',
    fetcher: fetcher(retries === undefined ? {} : { retries }),
    signal: ac.signal,
  }).catch((err: Error & { code?: string }) => err);
  try {
    return await Promise.race([pulled, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const reference: TreeEntry[] = await (async () => {
  const got = await pull(REF, join(base, 'reference'));
  if (got instanceof Error) throw got;
  return snapshotTree(got.path);
})();

/** What the cache must look like after any pull, failed or not. */
async function checkCache(t: Test, cacheDir: string, ok: boolean): Promise<void> {
  const inv = await inspectCacheDir(cacheDir);
  t.same(inv.problems, [], 'no partial entry, no dangling ref');
  t.same(inv.tmp, [], 'tmp/ is empty when the pull returns');
  t.same(inv.entries, ok ? [img.digest] : [], ok ? 'exactly the image entry' : 'no entry');
  const stored = (await readdir(join(cacheDir, 'layers')).catch(() => [] as string[])).filter((n) => !n.endsWith('.json'));
  t.same(stored.filter((n) => !trueLayers.has(n)), [], 'only verified layers in the store');
}

interface FaultCase {
  name: string;
  rules: FaultRule[];
  /** `recover`: the pull must succeed; `error`: it must fail with one of `codes`; `either`: one of the two. */
  expect: { kind: 'recover' } | { kind: 'error'; codes: string[] } | { kind: 'either'; codes: string[] };
  ref?: string;
  retries?: number;
  /** Extra checks on the requests the proxy saw. */
  check?: (t: Test) => void;
}

function runCase(c: FaultCase): void {
  t.test(c.name, async (t) => {
    const cacheDir = join(base, `case-${++caseNo}`);
    proxy.clear();
    proxy.setFaults(c.rules);
    const got = await pull(c.ref ?? REF, cacheDir, c.retries);
    proxy.setFaults([]);
    stats.cases++;
    stats.faultsInjected += proxy.requests.filter((r) => r.faults.length > 0).length;
    t.ok(proxy.requests.some((r) => r.faults.length > 0), 'the fault was injected');
    if (got instanceof Error) {
      t.not(c.expect.kind, 'recover', `the pull must recover, it failed: ${got.code ?? ''} ${got.message}`);
      if (c.expect.kind !== 'recover') t.ok(c.expect.codes.includes(String(got.code)), `one clear error: ${got.code} (${got.message})`);
      stats.clearErrors++;
    } else {
      t.not(c.expect.kind, 'error', 'the pull must fail');
      t.equal(got.digest, img.digest, 'the pinned image digest');
      t.same(diffTrees(reference, await snapshotTree(got.path)), [], 'the same tree as a clean pull');
      stats.recovered++;
    }
    await checkCache(t, cacheDir, !(got instanceof Error));
    c.check?.(t);
  });
}

const MID = 150_000;
runCase({
  name: 'connection reset in the middle of a layer: resumed',
  rules: [{ method: 'GET', path: blobPath(0), times: 1, fault: { kind: 'reset', afterBytes: MID } }],
  expect: { kind: 'recover' },
  check: (t) => {
    const gets = proxy.requests.filter((r) => r.method === 'GET' && blobPath(0).test(r.path));
    t.ok(gets.length >= 2, 'the layer was asked for again');
  },
});
runCase({
  name: 'reset before any byte of a layer, twice',
  rules: [{ method: 'GET', path: blobPath(1), times: 2, fault: { kind: 'reset' } }],
  expect: { kind: 'recover' },
});
runCase({
  name: 'short body (connection closed early, Content-Length kept)',
  rules: [{ method: 'GET', path: blobPath(2), times: 1, fault: { kind: 'short', afterBytes: 100_000 } }],
  expect: { kind: 'recover' },
  check: (t) => {
    const gets = proxy.requests.filter((r) => r.method === 'GET' && blobPath(2).test(r.path));
    t.match(String(gets[1]?.headers.range), /^bytes=\d+-$/, 'the second request resumed with Range');
    t.ok(Number(/=(\d+)-/.exec(String(gets[1]?.headers.range))?.[1]) > 0, 'from past the start');
  },
});
runCase({
  name: '500 then 503 with Retry-After on a layer',
  rules: [
    { method: 'GET', path: blobPath(0), nth: 1, fault: { kind: 'status', status: 500 } },
    { method: 'GET', path: blobPath(0), nth: 2, fault: { kind: 'status', status: 503, retryAfter: 1 } },
  ],
  expect: { kind: 'recover' },
  check: (t) => t.ok(proxy.count({ method: 'GET', path: blobPath(0) }) >= 3, 'asked three times'),
});
runCase({
  name: '429 with Retry-After on the manifest',
  rules: [{ path: manifestPath, times: 2, fault: { kind: 'status', status: 429, retryAfter: 1 } }],
  expect: { kind: 'recover' },
});
runCase({
  name: '503 on every layer request: one clear error',
  rules: [{ method: 'GET', path: blobPath(1), every: true, fault: { kind: 'status', status: 503 } }],
  retries: 2,
  expect: { kind: 'error', codes: ['REGISTRY_UNAVAILABLE', 'UNEXPECTED_RESPONSE'] },
});
runCase({
  name: 'manifest stalls past the timeout once',
  rules: [{ path: manifestPath, times: 1, fault: { kind: 'stall' } }],
  expect: { kind: 'recover' },
});
runCase({
  name: 'layer stalls mid-body past the timeout once',
  rules: [{ method: 'GET', path: blobPath(0), times: 1, fault: { kind: 'stall', afterBytes: MID } }],
  expect: { kind: 'recover' },
});
runCase({
  name: 'layer stalls every time: one timeout error',
  rules: [{ method: 'GET', path: blobPath(2), every: true, fault: { kind: 'stall', afterBytes: 0 } }],
  retries: 1,
  expect: { kind: 'error', codes: ['TIMEOUT', 'REGISTRY_UNAVAILABLE'] },
});
runCase({
  name: 'corrupted layer bytes once',
  rules: [{ method: 'GET', path: blobPath(1), times: 1, fault: { kind: 'corrupt', offset: 5000 } }],
  expect: { kind: 'either', codes: ['DIGEST_MISMATCH'] },
});
runCase({
  name: 'corrupted layer bytes every time: refused',
  rules: [{ method: 'GET', path: blobPath(1), every: true, fault: { kind: 'corrupt', offset: 5000 } }],
  expect: { kind: 'error', codes: ['DIGEST_MISMATCH'] },
});
runCase({
  name: 'corrupted config blob: refused',
  rules: [{ method: 'GET', path: new RegExp(`/blobs/${img.configDigest}$`), every: true, fault: { kind: 'corrupt', offset: 10 } }],
  expect: { kind: 'error', codes: ['DIGEST_MISMATCH', 'INVALID_MANIFEST'] },
});
runCase({
  name: 'pinned pull, the manifest body is corrupted: refused',
  ref: PINNED,
  rules: [{ method: 'GET', path: manifestPath, every: true, fault: { kind: 'corrupt', offset: 40 } }],
  expect: { kind: 'error', codes: ['DIGEST_MISMATCH', 'INVALID_MANIFEST'] },
});
runCase({
  name: 'pinned pull, Docker-Content-Digest rewritten to another digest',
  ref: PINNED,
  rules: [{ path: manifestPath, every: true, fault: { kind: 'header', set: { 'docker-content-digest': `sha256:${'ab'.repeat(32)}` } } }],
  expect: { kind: 'either', codes: ['DIGEST_MISMATCH'] },
});
runCase({
  name: 'tag pull, Docker-Content-Digest rewritten on every manifest response',
  rules: [{ path: manifestPath, every: true, fault: { kind: 'header', set: { 'docker-content-digest': `sha256:${'cd'.repeat(32)}` } } }],
  expect: { kind: 'either', codes: ['DIGEST_MISMATCH', 'MANIFEST_UNKNOWN'] },
});

t.test('a failed layer stops its sibling downloads before the pull returns', async (t) => {
  const cacheDir = join(base, 'siblings');
  proxy.clear();
  proxy.setFaults([
    { method: 'GET', path: blobPath(0), every: true, fault: { kind: 'stall', afterBytes: 1000, ms: 800 } },
    { method: 'GET', path: blobPath(2), every: true, fault: { kind: 'corrupt', offset: 10 } },
  ]);
  const got = await pull(REF, cacheDir);
  const tmpAtReturn = (await inspectCacheDir(cacheDir)).tmp;
  const openAtReturn = proxy.requests.filter((r) => !r.done).map((r) => r.path);
  proxy.setFaults([]);
  t.ok(['DIGEST_MISMATCH', 'LAYER_DECOMPRESS'].includes(got instanceof Error ? String(got.code) : 'no error'), `the corrupted layer fails the pull (${got instanceof Error ? got.message : ''})`);
  t.same(tmpAtReturn, [], 'no sibling layer is still being written into tmp/ when the pull has returned');
  t.same(openAtReturn, [], 'no download is still open when the pull has returned');
  await proxy.waitFor((rs) => rs.every((r) => r.done), 15_000);
});

// Last: a pull that outlives its deadline must not disturb the other scenarios.
runCase({
  name: 'every response of a layer cut after 10 bytes: one clear error in bounded time',
  rules: [{ method: 'GET', path: blobPath(0), every: true, fault: { kind: 'short', afterBytes: 10 } }],
  retries: 1,
  expect: { kind: 'error', codes: ['REGISTRY_UNAVAILABLE', 'SIZE_MISMATCH', 'TIMEOUT', 'BLOB_INCOMPLETE', 'UNEXPECTED_RESPONSE'] },
});

t.test('summary', async (t) => {
  t.ok(stats.cases > 10, 'every fault case ran');
  t.comment(`registry faults: ${stats.cases} scenarios (${stats.faultsInjected} faulted responses), ${stats.recovered} recovered, ${stats.clearErrors} ended in an error`);
});
