#!/usr/bin/env node
// Issue 14: which proxy agent to use. Measures one cold fetch of a whole image (manifest, config,
// every layer, each hashed) from a TLS registry through tinyproxy, with oci-client-lite's own
// CONNECT agent (node:https) against undici's ProxyAgent, interleaved, fresh connections each run;
// and the whole RegistryClient (verification, auth checks) on the own agent, for scale.
// Standalone (not part of `pnpm bench`): undici is not a dependency of the project, so this loads
// it from UNDICI_PATH (default: the copy pnpm keeps for node-gyp). Usage: node bench/proxy-agents.mjs [runs]
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeTestCa, pushImage, startForwardProxy, startRegistry, buildImage, makeLayer } from '../packages/testkit/dist/index.js';
import https from 'node:https';
import tls from 'node:tls';
import { RegistryClient } from '../packages/oci-client-lite/dist/index.js';
import { ConnectTunnelAgent } from '../packages/oci-client-lite/dist/connect-agent.js';

const runs = Number(process.argv[2] ?? 7);
const undiciPath = resolve(process.env.UNDICI_PATH ?? 'node_modules/.pnpm/undici@6.29.1/node_modules/undici/index.js');
const { ProxyAgent, request } = await import(undiciPath);
const NAME = 'agents.test';

const dir = await mkdtemp(join(tmpdir(), 'bbox-agents-'));
const ca = await makeTestCa(dir);
const cert = await ca.server(NAME, [NAME]);
const plain = await startRegistry({ dataDir: join(dir, 'data') });
// Four incompressible 16 MiB layers: bytes through the tunnel dominate, as in a real pull.
const layers = Array.from({ length: 4 }, (_, i) => makeLayer([{ path: `blob${i}`, type: 'file', content: randomBytes(16 << 20) }], { compression: 'none' }));
const img = buildImage({ layers, config: { Cmd: ['/x'] } });
await pushImage(plain.url, 'agents/img', img, { tag: 'v1' });
await plain.stop();
const reg = await startRegistry({ dataDir: join(dir, 'data'), tls: { certificate: cert.cert, key: cert.key } });
const proxy = await startForwardProxy({ connectPorts: [reg.port], hosts: { [NAME]: '127.0.0.1' } });
const caPem = await readFile(ca.cert, 'utf8');
const base = `https://${NAME}:${reg.port}/v2/agents/img`;

function randomBytes(n) {
  const out = Buffer.allocUnsafe(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

async function ownAgent() {
  const client = new RegistryClient({ proxy: proxy.url, registries: { [`${NAME}:${reg.port}`]: { tls: { ca: ca.cert } } }, retries: 0 });
  const ref = `${NAME}:${reg.port}/agents/img:v1`;
  const r = await client.resolve(ref, { platform: 'linux/amd64' });
  await Promise.all(r.manifest.layers.map(async (l) => {
    const h = createHash('sha256');
    for await (const c of await client.openBlob(ref, l)) h.update(c);
  }));
  client.close();
}

// The same requests as the undici side, through the agent oci-client-lite uses: agent against agent.
async function ownAgentRaw() {
  const agent = new ConnectTunnelAgent({ proxy: new URL(proxy.url), keepAlive: true, maxSockets: 16, secureContext: tls.createSecureContext({ ca: caPem }) });
  const get = (path, accept) =>
    new Promise((resolve, reject) => {
      const req = https.request(`${base}/${path}`, { agent, headers: accept ? { accept } : {} }, async (res) => {
        const h = createHash('sha256');
        const chunks = [];
        try {
          for await (const c of res) {
            h.update(c);
            if (accept) chunks.push(c);
          }
          resolve({ status: res.statusCode, body: Buffer.concat(chunks), digest: `sha256:${h.digest('hex')}` });
        } catch (e) {
          reject(e);
        }
      });
      req.on('error', reject);
      req.end();
    });
  await fetchImage(get);
  agent.destroy();
}

async function fetchImage(get) {
  const m = await get('manifests/v1', 'application/vnd.oci.image.manifest.v1+json');
  const manifest = JSON.parse(m.body.toString());
  await get(`blobs/${manifest.config.digest}`, 'application/octet-stream');
  await Promise.all(manifest.layers.map(async (l) => {
    const b = await get(`blobs/${l.digest}`);
    if (b.digest !== l.digest) throw new Error('digest mismatch');
  }));
}

async function undiciAgent() {
  const dispatcher = new ProxyAgent({ uri: proxy.url, requestTls: { ca: caPem } });
  const get = async (path, accept) => {
    const res = await request(`${base}/${path}`, { dispatcher, headers: accept ? { accept } : {} });
    const h = createHash('sha256');
    const chunks = [];
    for await (const c of res.body) {
      h.update(c);
      if (accept) chunks.push(c);
    }
    return { status: res.statusCode, body: Buffer.concat(chunks), digest: `sha256:${h.digest('hex')}` };
  };
  await fetchImage(get);
  await dispatcher.close();
}

const sides = { client: ownAgent, own: ownAgentRaw, undici: undiciAgent };
const times = { client: [], own: [], undici: [] };
try {
  for (const fn of Object.values(sides)) await fn(); // warm-up: file cache, JIT
  for (let i = 0; i < runs; i++) {
    const order = Object.entries(sides);
    for (const [name, fn] of order.slice(i % order.length).concat(order.slice(0, i % order.length))) {
      const t0 = performance.now();
      await fn();
      times[name].push(performance.now() - t0);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const mb = img.manifest.layers.reduce((s, l) => s + l.size, 0) / 2 ** 20;
  console.log(`image: ${img.manifest.layers.length} layers, ${mb.toFixed(0)} MiB; ${runs} runs each, interleaved`);
  for (const [name, t] of Object.entries(times)) console.log(`${name.padEnd(7)} median ${med(t).toFixed(0)} ms  (min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)})`);
  console.log(`undici / own agent: ${(med(times.undici) / med(times.own)).toFixed(2)}x; whole client / own agent: ${(med(times.client) / med(times.own)).toFixed(2)}x`);
} finally {
  await proxy.stop();
  await reg.stop();
  await rm(dir, { recursive: true, force: true });
}
