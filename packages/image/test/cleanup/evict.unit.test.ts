import t from 'tap';
import { fakeDigest, publishFake, publishFakeLayer, setLastUsed, tempCache } from '../cache/fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

const [OLD, MID, NEW] = ['old', 'mid', 'new'].map((s) => fakeDigest(`img-${s}`)) as [string, string, string];
const SHARED = fakeDigest('layer-shared');
const ONLY_OLD = fakeDigest('layer-only-old');
const DAY = 86_400_000;

/** Three referenced entries of 1000 bytes each, used 30, 10 and 0 days ago; layers 100 + 50 bytes. */
async function aged(t: Parameters<typeof tempCache>[0]) {
  const ctx = await tempCache(t);
  const { cache } = ctx;
  await publishFakeLayer(cache, SHARED, 100);
  await publishFakeLayer(cache, ONLY_OLD, 50);
  await publishFake(cache, { digest: OLD, layers: [SHARED, ONLY_OLD], size: 1000 });
  await publishFake(cache, { digest: MID, layers: [SHARED], size: 1000 });
  await publishFake(cache, { digest: NEW, layers: [SHARED], size: 1000 });
  await cacheWriter(cache).recordRef('old', { digest: OLD });
  await cacheWriter(cache).recordRef('mid', { digest: MID });
  await cacheWriter(cache).recordRef('new', { digest: NEW });
  const now = Date.now();
  await setLastUsed(cache, OLD, new Date(now - 30 * DAY));
  await setLastUsed(cache, MID, new Date(now - 10 * DAY));
  await setLastUsed(cache, NEW, new Date(now));
  return ctx;
}

function ids(report: { removed: Array<{ kind: string; id: string }> }, kind: string): string[] {
  return report.removed.filter((r) => r.kind === kind).map((r) => r.id).sort();
}

t.test('maxAge evicts entries unused for longer, with their refs and the layers only they needed', async (t) => {
  const { cache } = await aged(t);
  const report = await cache.evict({ maxAge: 7 * DAY });
  t.same(ids(report, 'entry'), [OLD, MID].sort());
  t.same(ids(report, 'ref').sort(), ['docker.io/library/mid:latest (linux/amd64)', 'docker.io/library/old:latest (linux/amd64)']);
  t.same(ids(report, 'layer'), [ONLY_OLD], 'the shared layer stays for the remaining entry');
  t.equal(report.bytesFreed, 2050);
  t.equal(await cache.lookupRef('old'), undefined);
  t.equal((await cache.lookupRef('new'))?.digest, NEW);
});

t.test('maxAge accepts a duration string', async (t) => {
  const { cache } = await aged(t);
  t.same(ids(await cache.evict({ maxAge: '20d' }), 'entry'), [OLD]);
});

t.test('maxBytes evicts least recently used first until entries and layers fit', async (t) => {
  const { cache } = await aged(t);
  // Total 3150: dropping OLD frees 1050 (its own layer too) → 2100 fits in 2200.
  const report = await cache.evict({ maxBytes: 2200 });
  t.same(ids(report, 'entry'), [OLD]);
  t.equal((await cache.list()).totals.bytes, 2100);
  const more = await cache.evict({ maxBytes: 1000 });
  t.same(ids(more, 'entry'), [MID, NEW].sort(), 'everything goes when nothing else fits');
  t.same(ids(more, 'layer'), [SHARED]);
});

t.test('keep and held entries are never evicted', async (t) => {
  const { cache } = await aged(t);
  const release = await cache.hold(MID);
  const report = await cache.evict({ maxBytes: 0, keep: [OLD] });
  t.same(ids(report, 'entry'), [NEW]);
  t.equal(await cache.hasEntry(OLD), true);
  t.equal(await cache.hasEntry(MID), true);
  t.equal(await cacheWriter(cache).hasLayer(ONLY_OLD), true);
  await release();
});

t.test('a dry run reports and keeps everything', async (t) => {
  const { cache } = await aged(t);
  const dry = await cache.evict({ maxAge: 7 * DAY, dryRun: true });
  t.same(ids(dry, 'entry'), [OLD, MID].sort());
  t.equal(await cache.hasEntry(OLD), true);
  t.equal((await cache.lookupRef('mid'))?.digest, MID);
});

t.test('using an entry protects it from age eviction', async (t) => {
  const { cache } = await aged(t);
  await cache.lookupRef('old');
  t.same(ids(await cache.evict({ maxAge: 7 * DAY }), 'entry'), [MID]);
});
