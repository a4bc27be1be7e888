import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
