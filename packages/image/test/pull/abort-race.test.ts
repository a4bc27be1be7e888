import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import t from 'tap';
import { parseReference, RegistryClient, type Descriptor, type Reference } from 'oci-client-lite';
import { buildImage, inspectCacheDir, makeLayer, pushImage, startRegistry, tempDir, type TarEntry } from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher } from '../../src/pull/pull.js';
import { RegistryFetcher } from '../../src/pull/registry-fetcher.js';
import { LayerError } from '../../src/errors/layer-errors.js';

// A layer whose download was opened just before a sibling layer failed: the failure aborts the
// pull's signal while that layer's stream is not yet read. The pull must still end with the
// sibling's error, promptly, with no uncaught 'error' event from the orphaned stream and nothing
// left in tmp/. The registry is real; only the moment the stream is handed over is chosen.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-abort-race-');

const files: TarEntry[] = Array.from({ length: 200 }, (_, i) => ({ path: `data/f${i}`, type: 'file', content: `file ${i}\n`.repeat(50) }));
const good = makeLayer([{ path: 'data', type: 'dir' }, ...files]);
const hostile = makeLayer([{ path: '../../outside', type: 'file', content: 'x' }]);

/** Hands over the stream of `lateDigest` only once the pull's signal has aborted. */
class LateFetcher extends RegistryFetcher {
  constructor(private readonly lateDigest: string) {
    super();
  }

  override async openLayer(ref: Reference, desc: Descriptor, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<Readable> {
    const stream = await super.openLayer(ref, desc, opts);
    if (desc.digest === this.lateDigest && opts.signal && !opts.signal.aborted) await once(opts.signal, 'abort');
    return stream;
  }
}

for (const order of ['good first', 'hostile first'] as const) {
  t.test(`a layer stream handed over after a sibling failed ends the pull cleanly (${order})`, async (t) => {
    const layers = order === 'good first' ? [good, hostile] : [hostile, good];
    const img = buildImage({ layers });
    const repo = `race/${order.replace(' ', '-')}`;
    await pushImage(reg.url, repo, img, { tag: 'v1' });
    const cacheDir = join(base, repo.replace('/', '-'));
    const got = await pullWithFetcher(`${reg.host}/${repo}:v1`, {
      cache: new Cache(cacheDir),
      platform: 'linux/amd64',
      fetcher: new LateFetcher(good.digest),
    }).catch((err: Error & { code?: string }) => err);
    t.ok(got instanceof Error, 'the pull fails');
    t.equal((got as Error & { code?: string }).code, 'LAYER_PATH_ESCAPE', `with the hostile layer's error (${(got as Error).message})`);
    t.type(got, LayerError, 'a layer error');
    t.equal((got as LayerError).layer, hostile.digest, 'naming the hostile layer');
    t.equal((got as LayerError).image, `${reg.host}/${repo}:v1`, 'and the image');
    t.match((got as Error).message, `layer ${hostile.digest} of ${reg.host}/${repo}:v1: `);
    const inv = await inspectCacheDir(cacheDir);
    t.same(inv.tmp, [], 'nothing left in tmp/');
    t.same(inv.problems, [], 'cache consistent');
  });
}

t.test('a blob stream from the registry: abort before reading and destroy mid-read end it, nothing more', async (t) => {
  const img = buildImage({ layers: [good] });
  await pushImage(reg.url, 'race/blob', img, { tag: 'v1' });
  const requests: string[] = [];
  const client = new RegistryClient({ onRequest: (e) => requests.push(`${e.method} ${new URL(e.url).pathname}`) });
  t.teardown(() => client.close());
  const ref = parseReference(`${reg.host}/race/blob@${img.digest}`);
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: good.digest, size: good.blob.length };

  const ac = new AbortController();
  const unread = await client.openBlob(ref, desc, { signal: ac.signal });
  ac.abort(new Error('caller stopped'));
  await t.rejects(async () => {
    for await (const _ of unread) void _;
  }, { message: 'caller stopped' }, 'an abort before the first read reaches the reader, not the process');

  requests.length = 0;
  const read = await client.openBlob(ref, desc);
  read.once('data', () => read.destroy(new Error('consumer gave up')));
  const [err] = (await once(read, 'error')) as [Error];
  if (!read.closed) await once(read, 'close');
  t.equal(err.message, 'consumer gave up');
  t.same(requests, [`GET /v2/race/blob/blobs/${good.digest}`], 'one request: the stream is not resumed after its consumer destroyed it');
});
