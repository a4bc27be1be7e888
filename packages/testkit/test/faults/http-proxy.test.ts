import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buildImage, makeLayer, pushImage, sha256Digest, startProxy, startRegistry, type FaultProxy } from '../../src/index.js';

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  error?: string;
}

/** A plain GET that reports what arrived, including bytes before a connection failure. */
function rawGet(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Got> {
  return new Promise((resolve) => {
    const got: Got = { status: 0, headers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const finish = (error?: string) => resolve({ ...got, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
    const req = get(url, { headers, agent: false, signal }, (res) => {
      got.status = res.statusCode ?? 0;
      got.headers = res.headers;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish());
      res.on('error', (e) => finish(e.message));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (e) => finish(e.message));
  });
}

const payload = randomBytes(300_000);
const layer = makeLayer([{ path: 'blob.bin', type: 'file', content: payload }], { compression: 'none' });
const image = buildImage({ layers: [layer] });
const blobPath = `/v2/fx/proxied/blobs/${layer.digest}`;

async function setup(t: { teardown(fn: () => unknown): void }): Promise<{ proxy: FaultProxy; blobUrl: string }> {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  await pushImage(proxy.url, 'fx/proxied', image, { tag: 'v1' });
  proxy.clear();
  return { proxy, blobUrl: proxy.url + blobPath };
}

t.test('forwards and records pushes, manifests, blobs and ranges', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  await pushImage(proxy.url, 'fx/proxied', image, { tag: 'v1' });
  t.equal(proxy.count({ method: 'PUT', path: /\/blobs\/uploads\// }), 2, 'uploads follow Location through the proxy');
  t.equal(proxy.count({ method: 'PUT', path: /\/manifests\// }), 1);

  const m = await rawGet(`${proxy.url}/v2/fx/proxied/manifests/v1`, { accept: image.mediaType });
  t.equal(m.status, 200);
  t.equal(sha256Digest(m.body), image.digest);
  const full = await rawGet(proxy.url + blobPath);
  t.same(full.body, layer.blob);
  const part = await rawGet(proxy.url + blobPath, { range: 'bytes=10-19' });
  t.equal(part.status, 206);
  t.same(part.body, layer.blob.subarray(10, 20));
  t.equal(proxy.count({ method: 'GET', path: /\/blobs\// }), 2);
  t.equal(proxy.count({ method: 'GET', path: /\/manifests\// }), 1);
  const rec = proxy.requests.find((r) => r.headers.range);
  t.equal(rec?.bytesOut, 10);
  t.equal(rec?.status, 206);
  proxy.clear();
  t.equal(proxy.count(), 0);
});

t.test('status faults consume deterministically, then pass through', async (t) => {
  const { proxy, blobUrl } = await setup(t);
  proxy.setFaults([{ method: 'GET', path: /\/blobs\//, times: 2, fault: { kind: 'status', status: 503, retryAfter: 1 } }]);
  const first = await rawGet(blobUrl);
  const second = await rawGet(blobUrl);
  const third = await rawGet(blobUrl);
  t.same([first.status, second.status, third.status], [503, 503, 200]);
  t.equal(first.headers['retry-after'], '1');
  t.same(third.body, layer.blob);
  t.same(proxy.requests.map((r) => r.faults.length), [1, 1, 0]);

  proxy.setFaults([{ path: 'manifests', nth: 2, fault: { kind: 'status', status: 429 } }]);
  const url = `${proxy.url}/v2/fx/proxied/manifests/v1`;
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await rawGet(url, { accept: image.mediaType })).status);
  t.same(codes, [200, 429, 200], 'only the 2nd match is faulted');
});

t.test('reset and short bodies cut the transfer at the given byte', async (t) => {
  const { proxy, blobUrl } = await setup(t);
  proxy.setFaults([{ path: /\/blobs\//, nth: 1, fault: { kind: 'reset', afterBytes: 100_000 } }]);
  const reset = await rawGet(blobUrl);
  t.equal(reset.status, 200);
  t.ok(reset.error, 'client sees a failed transfer');
  t.equal(reset.body.length, 100_000);
  t.same(reset.body, layer.blob.subarray(0, 100_000));

  proxy.setFaults([{ path: /\/blobs\//, nth: 1, fault: { kind: 'short', afterBytes: 5000 } }]);
  const short = await rawGet(blobUrl);
  t.equal(short.headers['content-length'], String(layer.size), 'full length is declared');
  t.equal(short.body.length, 5000);
  t.ok(short.error);

  proxy.setFaults([{ path: /\/blobs\//, nth: 1, fault: { kind: 'reset' } }]);
  const none = await rawGet(blobUrl);
  t.equal(none.status, 0, 'no response at all');
  t.ok(none.error);
  t.same((await rawGet(blobUrl)).body, layer.blob, 'next request passes');
});

t.test('corrupt flips exactly one byte; header rules rewrite the response', async (t) => {
  const { proxy, blobUrl } = await setup(t);
  proxy.setFaults([{ path: /\/blobs\//, fault: [{ kind: 'corrupt', offset: 123_456 }, { kind: 'header', remove: ['Docker-Content-Digest'], set: { 'x-test': 'yes' } }] }]);
  const got = await rawGet(blobUrl);
  t.equal(got.body.length, layer.blob.length);
  const diffAt = [...got.body.keys()].filter((i) => got.body[i] !== layer.blob[i]);
  t.same(diffAt, [123_456]);
  t.equal(got.headers['docker-content-digest'], undefined);
  t.equal(got.headers['x-test'], 'yes');
  t.same(proxy.requests[0]?.faults, ['corrupt+header']);
});

t.test('stalls: a timed stall delays, a forever stall holds until the client leaves', async (t) => {
  const { proxy, blobUrl } = await setup(t);
  proxy.setFaults([{ path: /\/blobs\//, nth: 1, fault: { kind: 'stall', ms: 300 } }]);
  const started = Date.now();
  const delayed = await rawGet(blobUrl);
  t.ok(Date.now() - started >= 290, 'response waited for the stall');
  t.same(delayed.body, layer.blob);

  proxy.clear();
  proxy.setFaults([{ path: /\/blobs\//, nth: 1, fault: { kind: 'stall', afterBytes: 1000 } }]);
  const ac = new AbortController();
  const pending = rawGet(blobUrl, {}, ac.signal);
  // The proxy records bytes as it sends them: wait until it has sent the 1000 before the stall.
  await proxy.waitFor((rs) => rs[0]?.bytesOut === 1000);
  t.equal(proxy.requests[0]?.done, false, 'still held open');
  ac.abort();
  const got = await pending;
  t.ok(got.error);
  await proxy.waitForCount({ path: /\/blobs\// }, 1);
  t.equal(proxy.requests[0]?.bytesOut, 1000);
});

t.test('Location headers naming the target are rewritten to the proxy', async (t) => {
  const upstream = createServer((req, res) => {
    const self = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    res.writeHead(307, { location: req.url === '/abs' ? `${self}/next?x=1` : 'http://elsewhere.example/next' });
    res.end();
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => new Promise((r) => upstream.close(r)));
  const proxy = await startProxy({ target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  t.teardown(() => proxy.stop());
  t.equal((await rawGet(`${proxy.url}/abs`)).headers.location, `${proxy.url}/next?x=1`);
  t.equal((await rawGet(`${proxy.url}/other`)).headers.location, 'http://elsewhere.example/next', 'foreign locations kept');
});

t.test('stop() ends requests stalled forever', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const proxy = await startProxy({ target: reg.url, faults: [{ path: '^/v2/$', fault: { kind: 'stall' } }] });
  const pending = rawGet(`${proxy.url}/v2/`);
  await proxy.waitFor((rs) => rs.length === 1);
  await proxy.stop();
  const got = await pending;
  t.equal(got.status, 0);
  t.ok(got.error, 'the client sees the connection end');
});
