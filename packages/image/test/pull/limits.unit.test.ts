import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildImage, makeLayer, tempDir, writeOciLayout } from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { DEFAULT_LIMITS, resolveExtractLimits } from '../../src/layers/limits.js';
import { pullWithFetcher } from '../../src/pull/pull.js';

// A layer whose one file claims (in a PAX record) 10^15 bytes: far over the default 30 GiB budget,
// so only the default limit stops it before extraction starts reading it.
const bomb = makeLayer([{ path: 'huge', type: 'file', content: 'sixteen bytes...', pax: { size: '1000000000000000' } }]);

async function layoutRef(t: Test): Promise<{ ref: string; cache: Cache }> {
  const dir = await tempDir(t, 'bbox-limits-');
  await writeOciLayout(join(dir, 'layout'), [{ tag: 'v1', image: buildImage({ layers: [bomb] }) }]);
  return { ref: `oci-layout:${join(dir, 'layout')}:v1`, cache: new Cache(join(dir, 'cache')) };
}

t.test('a limit given as undefined keeps its default', async (t) => {
  t.same(resolveExtractLimits({ maxBytes: undefined, maxEntries: undefined }), DEFAULT_LIMITS);
  const { ref, cache } = await layoutRef(t);
  await t.rejects(
    pullWithFetcher(ref, { cache, platform: 'linux/amd64', limits: { maxBytes: undefined, maxEntries: undefined } }),
    { code: 'LAYER_BYTE_LIMIT', limit: DEFAULT_LIMITS.maxBytes },
    'the decompression-bomb limit still applies',
  );
});

t.test('one limit set and the other undefined: the set one applies, the other keeps its default', async (t) => {
  const { ref, cache } = await layoutRef(t);
  await t.rejects(
    pullWithFetcher(ref, { cache, platform: 'linux/amd64', limits: { maxEntries: 10, maxBytes: undefined } }),
    { code: 'LAYER_BYTE_LIMIT', limit: DEFAULT_LIMITS.maxBytes },
  );
  await t.rejects(pullWithFetcher(ref, { cache, platform: 'linux/amd64', limits: { maxBytes: 8 } }), { code: 'LAYER_BYTE_LIMIT', limit: 8 });
});

t.test('a limit that is not a positive integer is refused before anything is fetched', async (t) => {
  const { ref, cache } = await layoutRef(t);
  await t.rejects(pullWithFetcher(ref, { cache, limits: { maxEntries: 0 } }), RangeError);
  await t.rejects(pullWithFetcher(ref, { cache, limits: { maxBytes: Number.NaN } }), RangeError);
  t.same((await cache.list()).entries, [], 'nothing cached');
});

t.test('layers that each fit the byte limit but together unpack past it are refused before compose, and nothing is cached', async (t) => {
  const dir = await tempDir(t, 'bbox-limits-');
  const layers = [1, 2].map((i) => makeLayer([{ path: `f${i}`, type: 'file', content: 'x'.repeat(600) }]));
  // Room for a layer's whole tar and then some (extraction counts each chunk before its entries).
  const limit = Math.max(...layers.map((l) => l.tar.length)) + 1024;
  await writeOciLayout(join(dir, 'layout'), [{ tag: 'v1', image: buildImage({ layers }) }]);
  const cache = new Cache(join(dir, 'cache'));
  const total = layers.reduce((n, l) => n + l.tar.length, 0);
  await t.rejects(pullWithFetcher(`oci-layout:${join(dir, 'layout')}:v1`, { cache, platform: 'linux/amd64', limits: { maxBytes: limit } }), {
    code: 'INVALID_IMAGE',
    message: new RegExp(`unpacks to ${total} bytes, over the limit of ${limit}`),
  });
  t.same((await cache.list()).entries, [], 'no entry');
});
