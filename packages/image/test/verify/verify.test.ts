import t from 'tap';
import { appendFile, chmod, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pullWithFetcher } from '../../src/index.js';
import { appImage, appLayer, baseLayer, lines, setupRegistry } from './fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

t.test('a freshly pulled entry verifies clean, and every layer it uses is checked once', async (t) => {
  const s = await setupRegistry(t);
  const img = appImage('1');
  await s.push(img);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const report = await s.cache.verify();
  t.equal(report.entries.length, 1);
  t.same(report.entries[0], { digest: pulled.digest, ok: true, problems: [], damagedLayers: [] });
  t.same(report.layers.map((l) => [l.diffID, l.ok]).sort(), [[baseLayer.diffID, true], [appLayer('1').diffID, true]].sort());
  t.equal(report.damaged, 0);
  t.same(report.repaired, []);
});

t.test('a modified, a deleted and an added file are each reported; repair makes the next pull clean', async (t) => {
  const s = await setupRegistry(t);
  const img = appImage('1');
  await s.push(img);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  await appendFile(join(pulled.path, 'app/version'), 'tampered\n');
  await rm(join(pulled.path, 'etc/os-release'));
  await writeFile(join(pulled.path, 'usr/share/new-file'), 'x');

  const report = await s.cache.verify({ digest: pulled.digest });
  const entry = report.entries[0]!;
  t.equal(entry.ok, false);
  t.equal(report.damaged, 1);
  t.same(lines(entry.problems), [
    'changed app/version mtime',
    'changed app/version size',
    'changed app/version digest',
    'changed etc mtime',
    'missing etc/os-release',
    'changed usr/share mtime',
    'extra usr/share/new-file',
  ]);
  const size = entry.problems.find((p) => p.path === 'app/version' && p.field === 'size');
  t.same([size?.expected, size?.actual], [2, 11], 'expected and actual values are reported');
  t.same(entry.damagedLayers, [appLayer('1').diffID], 'the in-place write went through to the layer store');
  const appVerdict = report.layers.find((l) => l.diffID === appLayer('1').diffID);
  t.same(lines(appVerdict?.problems ?? []), ['changed app/version mtime', 'changed app/version size', 'changed app/version digest']);
  t.equal(report.layers.find((l) => l.diffID === baseLayer.diffID)?.ok, true, 'deleting a rootfs link leaves the store intact');
  t.same(report.repaired, [], 'nothing is removed without repair');

  const repaired = await s.cache.verify({ digest: pulled.digest, repair: true });
  t.same(repaired.repaired, [{ kind: 'entry', id: pulled.digest }, { kind: 'layer', id: appLayer('1').diffID }]);
  t.equal(repaired.entries[0]!.repaired, true);
  t.equal(await s.cache.hasEntry(pulled.digest), false);
  t.equal(await s.cache.lookupRef(s.ref), undefined, 'the ref went with the entry');
  t.equal(await cacheWriter(s.cache).hasLayer(baseLayer.diffID), true, 'the intact layer stays');

  s.proxy.clear();
  const again = await pullWithFetcher(s.ref, { cache: s.cache });
  t.equal(again.fromCache, false);
  t.equal(again.stats.layersFetched, 1, 'only the damaged layer is fetched again');
  t.equal(s.blobGets(img.layers[1]!.digest), 1);
  t.equal(s.blobGets(img.layers[0]!.digest), 0);
  t.equal(await readFile(join(again.path, 'app/version'), 'utf8'), '1\n');
  t.equal(await readFile(join(again.path, 'etc/os-release'), 'utf8'), 'ID=bboxtest\n');
  const clean = await s.cache.verify();
  t.equal(clean.damaged, 0);
  t.same(clean.entries[0]?.problems, []);
});

t.test('metadata changes are reported by field, symlink targets and hardlink groups are checked', async (t) => {
  const s = await setupRegistry(t);
  await s.push(appImage('1'));
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  await chmod(join(pulled.path, 'var'), 0o755);
  await rm(join(pulled.path, 'bin/sh'));
  await symlink('/etc/passwd', join(pulled.path, 'bin/sh'));
  // Replace one path of the hardlink group by a separate file with the same content and metadata.
  const alias = join(pulled.path, 'bin/tool-alias');
  const body = await readFile(alias);
  await rm(alias);
  await writeFile(alias, body, { mode: 0o4755 });
  await chmod(alias, 0o4755);
  await utimes(alias, 1_600_000_004, 1_600_000_004);
  await utimes(join(pulled.path, 'bin'), 1_600_000_003, 1_600_000_003);

  const report = await s.cache.verify();
  const entry = report.entries[0]!;
  const byPath = (p: string) => entry.problems.filter((x) => x.path === p);
  t.same(byPath('var'), [{ path: 'var', kind: 'changed', field: 'mode', expected: '1777', actual: '0755' }]);
  t.same(lines(byPath('bin/sh')), ['changed bin/sh mtime', 'changed bin/sh target']);
  t.equal(byPath('bin/sh').find((p) => p.field === 'target')?.actual, '/etc/passwd');
  t.same(lines(byPath('bin/tool-alias')), ['changed bin/tool-alias link']);
  t.same(entry.damagedLayers, []);
});

t.test('a directory replaced by a symlink is not followed, and a file replaced by a directory shows its content as extra', async (t) => {
  const s = await setupRegistry(t);
  await s.push(appImage('1'));
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const outside = join(s.dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'doc'), 'not the image');
  await rm(join(pulled.path, 'usr/share'), { recursive: true });
  await symlink(outside, join(pulled.path, 'usr/share'));
  await rm(join(pulled.path, 'app/version'));
  await mkdir(join(pulled.path, 'app/version'));
  await writeFile(join(pulled.path, 'app/version/inside'), 'x');

  const entry = (await s.cache.verify()).entries[0]!;
  const problems = entry.problems.filter((p) => !(p.kind === 'changed' && p.field === 'mtime'));
  t.same(problems, [
    { path: 'app/version', kind: 'changed', field: 'type', expected: 'file', actual: 'dir' },
    { path: 'app/version/inside', kind: 'extra' },
    { path: 'usr/share', kind: 'changed', field: 'type', expected: 'dir', actual: 'symlink' },
    { path: 'usr/share/doc', kind: 'missing' },
  ]);
  t.same(entry.damagedLayers, [], 'replacing rootfs paths leaves the store intact');
});

t.test('repair with a pull function fetches the removed refs again at once', async (t) => {
  const s = await setupRegistry(t);
  await s.push(appImage('1'));
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  await writeFile(join(pulled.path, 'etc/passwd'), 'changed in place\n');
  const seen: string[] = [];
  const report = await s.cache.verify({
    repair: true,
    pull: async (ref, platform) => {
      seen.push(`${ref} ${platform}`);
      return pullWithFetcher(ref, { cache: s.cache, platform });
    },
  });
  const platform = (await s.cache.entryMeta(pulled.digest))?.platform;
  t.same(seen, [`${s.ref} ${platform}`]);
  t.same(report.repulled, [{ ref: s.ref, platform, ok: true }]);
  t.same(report.repaired, [{ kind: 'entry', id: pulled.digest }, { kind: 'layer', id: baseLayer.diffID }]);
  t.equal(await readFile(join(pulled.path, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n', 'the entry is back, clean');
  t.equal((await s.cache.verify()).damaged, 0);
});

t.test('verify of a digest that is not cached names it', async (t) => {
  const s = await setupRegistry(t);
  const digest = `sha256:${'ab'.repeat(32)}`;
  await t.rejects(s.cache.verify({ digest }), { code: 'ENTRY_NOT_FOUND', message: new RegExp(digest) });
  await t.rejects(s.cache.verify({ digest: 'sha256:nothex' }), { code: 'INVALID_DIGEST' });
});
