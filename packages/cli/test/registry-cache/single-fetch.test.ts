import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cacheWorld, type CacheWorld } from './fixture.js';

/** The upstream's GET requests for one blob. */
function blobGets(lines: string[], digest: string): string[] {
  return lines.filter((l) => l.includes('"GET ') && l.includes(`/blobs/${digest}`));
}

/** Where distribution keeps a layer of library/app in the cache's storage. */
function stored(w: CacheWorld, digest: string): { data: string; link: string } {
  const hex = digest.slice('sha256:'.length);
  const v2 = join(w.dir, 'data', 'docker', 'registry', 'v2');
  return { data: join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'), link: join(v2, 'repositories', 'library', 'app', '_layers', 'sha256', hex, 'link') };
}

t.test('the first pull through a new cache fetches each layer from the upstream once; after a purge the cache serves them all', async (t) => {
  const w = await cacheWorld(t);
  const first = await w.pull(['--json']);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stderr, '', 'no warning');
  const layers = w.image.manifest.layers;
  t.ok(layers.length >= 2, 'the image has several layers');
  const gets = await w.upstreamBlobGets();
  for (const l of layers) {
    t.equal(blobGets(gets, l.digest).length, 1, `layer ${l.digest.slice(7, 19)}: exactly one upstream GET`);
    const s = stored(w, l.digest);
    t.same(readFileSync(s.data), w.image.blobs.get(l.digest), 'the layer is in the cache storage, byte for byte');
    t.equal(readFileSync(s.link, 'utf8'), l.digest, "the repository's link names it");
    t.equal(statSync(s.data).mode & 0o777, 0o600, 'the blob is 0600');
  }
  t.same(readdirSync(join(w.dir, 'data', 'tee-tmp')), [], 'no temp file left');

  const purge = await w.sb.run(['cache', 'purge', '--force', '--cache-dir', w.sb.cacheDir], { env: w.env });
  t.equal(purge.code, 0, purge.stderr);
  const again = await w.pull(['--json']);
  t.equal(again.code, 0, again.stderr);
  t.match(JSON.parse(again.stdout), { fromCache: false }, 'a real pull');
  const after = await w.upstreamBlobGets();
  t.same(after.slice(gets.length).filter((l) => l.includes('"GET ')), [], 'after bbox cache purge: zero upstream blob requests');
});

t.test('a blob that cannot be stored never fails the pull: the cache just does not get it', async (t) => {
  const w = await cacheWorld(t);
  // The tee's temp directory is a file: no temp file can be created.
  await mkdir(join(w.dir, 'data'), { recursive: true, mode: 0o700 });
  await writeFile(join(w.dir, 'data', 'tee-tmp'), 'not a directory\n', { mode: 0o600 });
  const first = await w.pull(['--json']);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stderr, '', 'no warning: storing into the cache is best effort');
  for (const l of w.image.manifest.layers) t.notOk(existsSync(stored(w, l.digest).link), `layer ${l.digest.slice(7, 19)} not stored`);

  const purge = await w.sb.run(['cache', 'purge', '--force', '--cache-dir', w.sb.cacheDir], { env: w.env });
  t.equal(purge.code, 0, purge.stderr);
  const before = await w.upstreamBlobGets();
  const again = await w.pull(['--json']);
  t.equal(again.code, 0, again.stderr);
  const after = (await w.upstreamBlobGets()).slice(before.length);
  for (const l of w.image.manifest.layers) t.equal(blobGets(after, l.digest).length, 1, 'the layer the cache lacks is fetched again, once');
});

t.test("blobs bbox stored get the cache's own expiry when it next starts, and the cache expires them", async (t) => {
  const w = await cacheWorld(t);
  const first = await w.pull();
  t.equal(first.code, 0, first.stderr);
  const stop = await w.sb.run(['registry-cache', 'stop'], { env: w.env });
  t.equal(stop.code, 0, stop.stderr);
  // Stored a week ago less ten seconds: each entry falls due shortly after the cache starts again
  // (after the pull below, which the stored layers must still serve).
  const storedLog = join(w.dir, 'stored.log');
  const records = readFileSync(storedLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { digest: string; at: string });
  t.same(records.map((r) => r.digest).sort(), w.image.manifest.layers.map((l) => l.digest).sort(), 'each stored layer is recorded');
  const soon = new Date(Date.now() - 7 * 24 * 3600 * 1000 + 10_000).toISOString();
  await writeFile(storedLog, records.map((r) => JSON.stringify({ ...r, at: soon }) + '\n').join(''));

  await w.sb.run(['cache', 'purge', '--force', '--cache-dir', w.sb.cacheDir], { env: w.env });
  const before = await w.upstreamBlobGets();
  const again = await w.pull();
  t.equal(again.code, 0, again.stderr);
  t.same((await w.upstreamBlobGets()).slice(before.length).filter((l) => l.includes('"GET ')), [], 'the restarted cache served the stored layers');
  const state = JSON.parse(readFileSync(join(w.dir, 'data', 'scheduler-state.json'), 'utf8')) as Record<string, { EntryType: number }>;
  for (const l of w.image.manifest.layers) t.match(state[`library/app@${l.digest}`], { EntryType: 0 }, 'a blob entry in the scheduler state');

  const deadline = Date.now() + 30_000;
  const left = () => w.image.manifest.layers.filter((l) => existsSync(stored(w, l.digest).data));
  // Polled, not waited for: the scheduler's timer fires about ten seconds from when it was written.
  while (left().length > 0 && Date.now() < deadline) await delay(100);
  t.same(left(), [], 'distribution removed the stored layers when their time came');
});
