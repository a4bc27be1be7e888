import t from 'tap';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pushImage, startProxy, startRegistry } from '@broodbox/testkit';
import { RegistryClient, Transport } from '../../src/index.js';
import { smallImage } from '../fixtures.js';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

t.test('redirects keep Authorization on the same host and drop it for another host', async (t) => {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  // "localhost" and "127.0.0.1" are different hosts to the client, as a CDN would be.
  const storage = await listen((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.end('blob');
  });
  const storagePort = new URL(storage.url).port;
  const api = await listen((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/first') res.writeHead(307, { location: '/second' }).end();
    else if (req.url === '/second') res.writeHead(302, { location: `http://localhost:${storagePort}/data?sig=1` }).end();
    else res.writeHead(404).end();
  });
  const transport = new Transport({ retries: 0 });
  t.teardown(() => transport.close());
  const res = await transport.send({ method: 'GET', url: new URL(`${api.url}/first`), headers: { authorization: 'Bearer secret', range: 'bytes=1-' } });
  let body = '';
  for await (const c of res.body) body += String(c);
  t.equal(body, 'blob');
  t.equal(res.url.host, `localhost:${storagePort}`);
  t.same(
    seen.map((s) => [s.path, s.headers.authorization]),
    [
      ['/first', 'Bearer secret'],
      ['/second', 'Bearer secret'],
      ['/data?sig=1', undefined],
    ],
  );
  t.equal(seen[2]?.headers.range, 'bytes=1-', 'other headers survive the redirect');
});

t.test('an idle registry times out, and the error names the endpoint', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const img = smallImage();
  await pushImage(reg.url, 'slow/app', img, { tag: 'v1' });
  const proxy = await startProxy({ target: reg.url, faults: [{ method: 'HEAD', every: true, fault: { kind: 'stall' } }] });
  t.teardown(() => proxy.stop());
  const client = new RegistryClient({ timeoutMs: 300, retries: 1, retryBaseMs: 10 });
  t.teardown(() => client.close());
  const started = Date.now();
  await t.rejects(client.head(`${proxy.host}/slow/app:v1`), { code: 'REGISTRY_UNAVAILABLE', message: new RegExp(`${proxy.url}: TIMEOUT: no response from .* within 300 ms`) });
  t.equal(proxy.count({ method: 'HEAD' }), 2, 'a timeout is retried');
  t.ok(Date.now() - started < 5000, 'bounded by the timeout, not hanging');
});
