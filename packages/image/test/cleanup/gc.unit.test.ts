import t from 'tap';
import { lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from '../../src/cache/cache.js';
import { currentOwner } from '../../src/cache/process-owner.js';
import { CacheDirError } from '../../src/errors/cache-errors.js';
import { Child, fakeDigest, publishFake, publishFakeLayer, scratch, tempCache } from '../cache/fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';
import { lockNames } from '../../src/cache/lock-names.js';

const A = fakeDigest('a');
const B = fakeDigest('b');
const C = fakeDigest('c');
const BASE = fakeDigest('layer-base');
const TOP_A = fakeDigest('layer-a');
const TOP_B = fakeDigest('layer-b');

/** A referenced, an orphan sharing its base layer, an unused layer, a dangling ref, a crash leftover. */
async function populated(t: Parameters<typeof tempCache>[0]) {
  const ctx = await tempCache(t);
  const { cache } = ctx;
  await publishFakeLayer(cache, BASE, 1000);
  await publishFakeLayer(cache, TOP_A, 100);
  await publishFakeLayer(cache, TOP_B, 200);
  await publishFakeLayer(cache, fakeDigest('layer-unused'), 50);
  await publishFake(cache, { digest: A, layers: [BASE, TOP_A], size: 5000 });
  await publishFake(cache, { digest: B, layers: [BASE, TOP_B], size: 7000 });
  await publishFake(cache, { digest: C, size: 10 });
  await cacheWriter(cache).recordRef('app', { digest: A });
  await cacheWriter(cache).recordRef('gone', { digest: C });
  await cacheWriter(cache).recordRef('gone-too', { digest: C, topDigest: fakeDigest('idx') });
  await cache.removeEntry(C).then(() => undefined);
  // removeEntry also dropped C's refs; put a dangling one back as a crash would leave it.
  await writeDanglingRef(ctx.dir, C);
  // A crash leftover: named for a pid that cannot be alive.
  const leftover = join(ctx.dir, 'tmp', deadName());
  await mkdir(join(leftover, 'rootfs'), { recursive: true });
  await writeFile(join(leftover, 'rootfs', 'f'), Buffer.alloc(300));
  return { ...ctx, leftover };
}

/** A tmp name of this pid namespace whose pid is beyond any pid_max. */
function deadName(): string {
  return `rootfs.999999999-1-${currentOwner().ns}.abcdef`;
}

async function writeDanglingRef(dir: string, digest: string): Promise<void> {
  const { createHash } = await import('node:crypto');
  const ref = 'docker.io/library/dangling:latest';
  const name = createHash('sha256').update(`${ref}\nlinux/amd64`).digest('hex');
  const body = { ref, platform: 'linux/amd64', digest, topDigest: digest, resolvedAt: new Date().toISOString() };
  await writeFile(join(dir, 'refs', `${name}.json`), JSON.stringify(body));
}

function ids(report: { removed: Array<{ kind: string; id: string }> }, kind: string): string[] {
  return report.removed.filter((r) => r.kind === kind).map((r) => r.id).sort();
}

t.test('gc removes orphans, unneeded layers, dangling refs and crash leftovers, and nothing else', async (t) => {
  const { cache, leftover } = await populated(t);
  const report = await cache.gc();
  t.equal(report.dryRun, false);
  t.same(ids(report, 'entry'), [B]);
  t.same(ids(report, 'layer'), [TOP_B, fakeDigest('layer-unused')].sort(), 'the shared base layer stays');
  t.same(ids(report, 'ref'), ['docker.io/library/dangling:latest (linux/amd64)']);
  t.same(ids(report, 'tmp'), [deadName()]);
  t.equal(report.bytesFreed, 7000 + 200 + 50 + 300);
  await t.rejects(lstat(leftover), { code: 'ENOENT' });
  t.equal((await cache.lookupRef('app'))?.digest, A);
  t.equal(await cacheWriter(cache).hasLayer(BASE), true);
  t.equal(await cacheWriter(cache).hasLayer(TOP_A), true);
  t.equal(await cache.get(B), undefined);
  const again = await cache.gc();
  t.same(again.removed, [], 'a second gc finds nothing');
});

t.test('leftovers whose owner cannot be checked go after a day', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const foreign = join(dir, 'tmp', 'rootfs.12-34-1.abcdef');
  const odd = join(dir, 'tmp', 'something-else');
  await mkdir(foreign);
  await mkdir(odd);
  t.same(ids(await cache.gc(), 'tmp'), [], 'recent: maybe alive in another pid namespace');
  const old = new Date(Date.now() - 25 * 3_600_000);
  await utimes(foreign, old, old);
  await utimes(odd, old, old);
  t.same(ids(await cache.gc(), 'tmp'), ['rootfs.12-34-1.abcdef', 'something-else']);
});

t.test('gc --dry-run reports the same and changes nothing', async (t) => {
  const { cache, dir, leftover } = await populated(t);
  const before = await snapshot(dir);
  const dry = await cache.gc({ dryRun: true });
  t.equal(dry.dryRun, true);
  t.same(await snapshot(dir), before);
  t.ok(await lstat(leftover));
  const real = await cache.gc();
  t.same(dry.removed.map((r) => `${r.kind} ${r.id} ${r.bytes}`).sort(), real.removed.map((r) => `${r.kind} ${r.id} ${r.bytes}`).sort());
  t.equal(dry.bytesFreed, real.bytesFreed);
});

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['images', 'layers', 'refs', 'aliases', 'tmp']) for (const n of await readdir(join(dir, sub))) out.push(`${sub}/${n}`);
  return out.sort();
}

t.test('gc keeps a held entry and the layers of a pull in progress', async (t) => {
  const { cache } = await populated(t);
  const release = await cache.hold(B);
  const pending = fakeDigest('layer-of-pull-in-progress');
  await publishFakeLayer(cache, pending, 10);
  const releaseLayers = await cacheWriter(cache).holdLayers([pending]);
  const report = await cache.gc();
  t.same(ids(report, 'entry'), []);
  t.same(report.skipped.map((s) => `${s.kind} ${s.id} ${s.reason}`).sort(), [`entry ${B} held`, `layer ${pending} held`].sort());
  t.equal(await cache.hasEntry(B), true);
  t.equal(await cacheWriter(cache).hasLayer(TOP_B), true, 'layers of a kept entry stay');
  await release();
  await releaseLayers();
  const later = await cache.gc();
  t.same(ids(later, 'entry'), [B]);
  t.ok(ids(later, 'layer').includes(pending));
});

t.test('gc skips an entry whose image lock a pull holds', async (t) => {
  const { cache } = await populated(t);
  await cache.withLock(lockNames.image(B), async () => {
    const report = await cache.gc();
    t.same(report.skipped.filter((s) => s.kind === 'entry'), [{ kind: 'entry', id: B, reason: 'locked' }]);
    t.equal(await cache.hasEntry(B), true);
  });
});

t.test('gc racing a process that holds the entry never removes it', async (t) => {
  const { cache, dir } = await populated(t);
  const child = new Child(`
    const cache = new Cache(${JSON.stringify(dir)});
    const got = await cache.holdEntry(${JSON.stringify(B)});
    say('held ' + got.rootfs.path);
    await next();
  `);
  t.teardown(() => child.kill());
  const path = (await child.waitFor(/^held /)).slice(5);
  for (let i = 0; i < 5; i++) {
    const report = await cache.gc();
    t.notOk(ids(report, 'entry').includes(B), `round ${i}`);
  }
  t.equal(await readFile(join(path, 'etc', 'os-release'), 'utf8'), `ID=${B}\n`, 'the holder can still read its rootfs');
  await child.kill();
  t.same(ids(await cache.gc(), 'entry'), [B], 'the hold of a dead process counts for nothing');
});

t.test('holdEntry gives nothing for an entry that is not there', async (t) => {
  const { cache, dir } = await tempCache(t);
  t.equal(await cache.holdEntry(A), undefined);
  t.same(await readdir(join(dir, 'holds')), [], 'no hold left behind');
});

t.test('removeEntry refuses a held entry unless forced, and drops its refs', async (t) => {
  const { cache } = await populated(t);
  const release = await cache.hold(A);
  await t.rejects(cache.removeEntry(A), { code: 'ENTRY_HELD' });
  t.equal(await cache.removeEntry(A, { force: true }), true);
  await release();
  t.equal(await cache.lookupRef('app'), undefined);
  t.equal(await cache.refRecord('app'), undefined);
  t.equal(await cache.removeEntry(A), false);
});

t.test('purge removes everything except what is held', async (t) => {
  const { cache, dir } = await populated(t);
  const release = await cache.hold(A);
  const report = await cache.purge();
  t.same(ids(report, 'entry'), [B]);
  t.same(report.skipped.filter((s) => s.kind === 'entry'), [{ kind: 'entry', id: A, reason: 'held' }]);
  t.same(await readdir(join(dir, 'refs')), []);
  t.same(await readdir(join(dir, 'aliases')), []);
  t.same((await readdir(join(dir, 'layers'))).sort(), [BASE, TOP_A].flatMap((d) => [d.replace(':', '-'), `${d.replace(':', '-')}.json`]).sort(), 'layers of the held entry stay');
  t.equal(await cache.hasEntry(A), true);
  await release();
  const after = await cache.purge();
  t.same(ids(after, 'entry'), [A]);
  t.same(await readdir(join(dir, 'images')), []);
  t.same(await readdir(join(dir, 'layers')), []);
  t.equal(await readFile(join(dir, 'VERSION'), 'utf8'), 'broodbox-image-cache 1\n', 'the cache stays usable');
});

t.test('purge never deletes outside the cache', async (t) => {
  const { cache, dir, base } = await populated(t);
  const outside = join(base, 'precious');
  await mkdir(outside);
  await writeFile(join(outside, 'keep'), 'data');
  // Symlinks planted where entries, layers and rootfs files live.
  await symlink(outside, join(dir, 'images', `sha256-${'e'.repeat(64)}`));
  await symlink(outside, join(cache.rootfsPath(A), 'link-out'));
  await symlink(outside, join(dir, 'layers', `sha256-${'f'.repeat(64)}`));
  await cache.purge();
  t.equal(await readFile(join(outside, 'keep'), 'utf8'), 'data');
  t.same(await readdir(join(dir, 'images')), []);
});

t.test('purge through a symlinked cache dir works on the target, and refuses a foreign dir', async (t) => {
  const { dir, base } = await populated(t);
  const link = join(base, 'link-to-cache');
  await symlink(dir, link);
  const report = await new Cache(link).purge();
  t.ok(ids(report, 'entry').length >= 2);
  t.same(await readdir(join(dir, 'images')), []);
  t.ok((await lstat(link)).isSymbolicLink(), 'the link itself stays');
  const foreign = await scratch(t);
  await writeFile(join(foreign, 'mine'), 'x');
  await t.rejects(new Cache(foreign).purge(), CacheDirError);
  t.same(await readdir(foreign), ['mine']);
});

t.test('dropUnusedLayers removes only the given layers that no entry uses and nothing holds', async (t) => {
  const { cache, dir } = await populated(t);
  const held = fakeDigest('layer-held');
  await publishFakeLayer(cache, held, 10);
  const release = await cacheWriter(cache).holdLayers([held]);
  const unused = fakeDigest('layer-unused');
  const report = await cacheWriter(cache).dropUnusedLayers([BASE, TOP_B, unused, held]);
  await release();
  t.same(ids(report, 'layer'), [unused], 'only the unused, unheld layer goes');
  t.same(report.skipped.map((s) => s.id), [held], 'the held one is reported as skipped');
  const left = (await readdir(join(dir, 'layers'))).filter((n) => !n.endsWith('.json')).sort();
  t.same(left, [BASE, TOP_A, TOP_B, held].map((d) => d.replace(':', '-')).sort(), 'every other layer stays, unlisted ones included');
});
