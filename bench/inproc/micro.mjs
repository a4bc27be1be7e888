// In-process microbenchmark of the embedded use of @broodbox/image, run in its own process by the
// harness: argv[2] is a JSON object {cacheDir, ref, digest, iters, alwaysIters, registryLog, baseUrl}.
// Prints one JSON object with per-operation medians in microseconds.
import { request, Agent } from 'node:http';
import { AccessLog } from '../lib/access-log.mjs';
import { IMAGE_LIB } from '../lib/bbox.mjs';

const args = JSON.parse(process.argv[2]);
const { Cache, pullWithFetcher } = await import(IMAGE_LIB);

function stats(us) {
  const v = [...us].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { medianUs: q(0.5), p90Us: q(0.9), minUs: v[0], maxUs: v[v.length - 1], n: v.length };
}

async function loop(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return out;
}

function head(url, agent) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD', agent, headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

function check(got, what) {
  const digest = got?.digest;
  if (digest !== args.digest) throw new Error(`${what} returned digest ${digest}, expected ${args.digest}`);
}

const cache = new Cache(args.cacheDir);
const log = args.registryLog ? new AccessLog(args.registryLog, args.baseUrl) : undefined;
const result = {};

// Warm-up: module-level caches, JIT, the first connection.
for (let i = 0; i < 20; i++) check(await cache.lookupRef(args.ref), 'cache.lookupRef');

let mark = await log?.mark();
result.lookupRef = stats(await loop(args.iters, async () => check(await cache.lookupRef(args.ref), 'cache.lookupRef')));
result.lookupRef.requests = log ? (await log.since(mark)).total : undefined;

for (let i = 0; i < 20; i++) check(await pullWithFetcher(args.ref, { cache, policy: 'if-not-present' }), 'pullWithFetcher');
mark = await log?.mark();
result.ifNotPresent = stats(
  await loop(args.iters, async () => check(await pullWithFetcher(args.ref, { cache, policy: 'if-not-present' }), 'pullWithFetcher if-not-present')),
);
result.ifNotPresent.requests = log ? (await log.since(mark)).total : undefined;

for (let i = 0; i < 5; i++) check(await pullWithFetcher(args.ref, { cache, policy: 'always' }), 'pullWithFetcher always');
mark = await log?.mark();
result.always = stats(await loop(args.alwaysIters, async () => check(await pullWithFetcher(args.ref, { cache, policy: 'always' }), 'pullWithFetcher always')));
if (log) {
  const r = await log.since(mark);
  result.always.requestsPerCall = r.total / args.alwaysIters;
  result.always.manifestPerCall = r.manifest / args.alwaysIters;
  result.always.manifestHeadPerCall = r.manifestHead / args.alwaysIters;
  result.always.blobPerCall = r.blob / args.alwaysIters;
  result.always.pingPerCall = r.ping / args.alwaysIters;
}

// The round trip the `always` target allows: one HEAD of the manifest, kept-alive and fresh.
const [repoPath, tag] = args.ref.slice(args.ref.indexOf('/') + 1).split(':');
const url = `${args.baseUrl}/v2/${repoPath}/manifests/${tag}`;
const keepAlive = new Agent({ keepAlive: true });
await loop(5, () => head(url, keepAlive));
result.headKeepAlive = stats(await loop(args.alwaysIters, () => head(url, keepAlive)));
result.headFresh = stats(await loop(args.alwaysIters, () => head(url, new Agent({ keepAlive: false }))));
keepAlive.destroy();

process.stdout.write(JSON.stringify(result) + '\n');
