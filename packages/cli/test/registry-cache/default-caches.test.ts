import t from 'tap';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheProcesses, cacheWorld, fromBbox } from './fixture.js';

interface StatusDoc {
  enabled: boolean;
  caches: { upstream: string; running: boolean; url?: string; pid?: number; diskBytes: number; hits: { hits: number; misses: number } }[];
}

function modes(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const mode = statSync(p).mode & 0o777;
    if (mode !== (e.isDirectory() ? 0o700 : 0o600)) out.push(`${mode.toString(8)} ${p}`);
    if (e.isDirectory()) modes(p, out);
  }
  return out;
}

t.test('the first pull starts the cache and goes through it; after a purge and in a second cache dir the cache serves every blob', async (t) => {
  const w = await cacheWorld(t);
  const first = await w.pull(['--json']);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stderr, '', 'no warning');
  const pid = w.statePid();
  t.ok(pid, 'a state file records the cache');
  t.same(cacheProcesses(w.root), [pid], 'one cache process, the recorded one');
  const gets = await w.upstreamBlobGets();
  t.ok(gets.length > 0, 'the upstream served the blobs');
  const layers = w.image.manifest.layers.map((l) => l.digest);
  t.same(fromBbox(gets).map((l) => layers.find((d) => l.includes(d))).sort(), [...layers].sort(), 'bbox fetched each layer from the upstream itself, once, to store it into the cache');

  const status = await w.sb.run(['registry-cache', 'status', '--json'], { env: w.env });
  t.equal(status.code, 0, status.stderr);
  const doc = JSON.parse(status.stdout) as StatusDoc;
  const dockerIo = doc.caches.find((c) => c.upstream === w.upstream.host);
  t.match(dockerIo, { running: true, pid, url: /^http:\/\/127\.0\.0\.1:\d+$/ });
  t.ok((dockerIo?.hits.misses ?? 0) > 0 && dockerIo?.hits.hits === 0, 'the first pull was all misses');
  t.same(modes(w.root), [], 'every file under the cache root is 0600, every directory 0700');

  const purge = await w.sb.run(['cache', 'purge', '--force', '--cache-dir', w.sb.cacheDir], { env: w.env });
  t.equal(purge.code, 0, purge.stderr);
  const again = await w.pull(['--json']);
  t.equal(again.code, 0, again.stderr);
  t.match(JSON.parse(again.stdout), { fromCache: false }, 'the image cache was empty: this was a real pull');
  t.equal((await w.upstreamBlobGets()).length, gets.length, 'after bbox cache purge: zero upstream blob requests');

  const otherDir = join(w.sb.root, 'second-cache');
  const second = await w.sb.run(['pull', '--json', '--cache-dir', otherDir, w.ref], { env: w.env });
  t.equal(second.code, 0, second.stderr);
  t.equal((await w.upstreamBlobGets()).length, gets.length, 'a second cache dir: zero upstream blob requests');
  t.equal(w.statePid(), pid, 'the same cache served all three pulls');

  const after = JSON.parse((await w.sb.run(['registry-cache', 'status', '--json'], { env: w.env })).stdout) as StatusDoc;
  t.ok((after.caches[0]?.hits.hits ?? 0) >= 2 * (dockerIo?.hits.misses ?? 1), 'the cache counts the hits of both later pulls');
  t.ok((after.caches[0]?.diskBytes ?? 0) > 0, 'disk use is reported');

  const stop = await w.sb.run(['registry-cache', 'stop', '--json'], { env: w.env });
  t.same(JSON.parse(stop.stdout), [{ upstream: w.upstream.host, pid }]);
  t.same(cacheProcesses(w.root), [], 'stop ended the process');
});

t.test('a registry outside the upstream list gets no cache, with the default list too', async (t) => {
  const w = await cacheWorld(t);
  const ref = `${w.upstream.host}/library/app:1`;
  const r = await w.sb.run(['pull', '--cache-dir', w.sb.cacheDir, ref], { env: { BBOX_REGISTRY_CACHE_UPSTREAMS: undefined as unknown as string } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  t.same(cacheProcesses(w.root), []);
  t.notOk(existsSync(w.root), 'no registry-cache file written');
});

t.test('a pull answered from the image cache starts nothing', async (t) => {
  const w = await cacheWorld(t);
  const off = await w.pull(['--no-registry-cache']);
  t.equal(off.code, 0, off.stderr);
  const hit = await w.pull();
  t.equal(hit.code, 0, hit.stderr);
  t.match(hit.stdout, 'cache hit, no network used');
  t.same(cacheProcesses(w.root), [], 'no cache started for a pull that needed no registry');
});
