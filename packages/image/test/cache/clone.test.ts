import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFile, chmod, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffTrees, sharedInodes, snapshotTree } from '@broodbox/testkit';
import { pullWithFetcher } from '../../src/index.js';
import { appImage, setupRegistry } from '../verify/fixtures.js';
import { cacheWriter } from '../../src/cache/writer.js';

async function pulled(t: Test) {
  const s = await setupRegistry(t);
  await s.push(appImage('1'));
  return { ...s, image: await pullWithFetcher(s.ref, { cache: s.cache }) };
}

/** Whether cp can clone extents between these two directories (the answer `clone` must agree with). */
function reflinkWorks(srcDir: string, destDir: string): boolean {
  const src = join(srcDir, 'probe-src');
  spawnSync('sh', ['-c', `printf x > "${src}"`]);
  const r = spawnSync('cp', ['--reflink=always', src, join(destDir, 'probe-dest')]);
  spawnSync('rm', ['-f', src, join(destDir, 'probe-dest')]);
  return r.status === 0;
}

t.test('clone makes an equal tree that shares no inode with the entry, and writes to it leave the entry intact', async (t) => {
  const s = await pulled(t);
  const dest = join(s.dir, 'work', 'clone');
  const result = await s.cache.clone(s.image.digest, dest);
  t.equal(result.path, dest);
  await mkdir(join(s.dir, 'probe'));
  t.equal(result.method, reflinkWorks(join(s.dir, 'work'), join(s.dir, 'probe')) ? 'reflink' : 'copy');

  const entryTree = await snapshotTree(s.image.path);
  const cloneTree = await snapshotTree(dest);
  t.same(diffTrees(entryTree, cloneTree), [], 'names, types, modes, owners, mtimes, contents, targets and hardlink groups');
  const tool = cloneTree.find((e) => e.path === 'bin/tool');
  t.equal(tool?.mode, 0o4755, 'setuid kept');
  t.equal(tool?.hardlinkGroup, 'bin/tool', 'the image hardlink group is kept inside the clone');
  t.equal(cloneTree.find((e) => e.path === 'usr/share')?.uid, 12);
  t.equal((await lstat(join(dest, 'bin/sh'))).mtimeMs, (await lstat(join(s.image.path, 'bin/sh'))).mtimeMs, 'symlink mtime kept');
  t.equal((await lstat(dest)).mtimeMs, (await lstat(s.image.path)).mtimeMs, 'the root directory keeps its time');
  t.same(await sharedInodes(dest, [s.image.path, cacheWriter(s.cache).layerDir(appImage('1').layers[0]!.diffID)]), [], 'no hardlink to the entry or the store');

  await appendFile(join(dest, 'bin/tool'), 'echo changed\n');
  await writeFile(join(dest, 'etc/os-release'), 'ID=changed\n');
  await chmod(join(dest, 'var'), 0o700);
  await writeFile(join(dest, 'new'), 'x');
  t.same(diffTrees(entryTree, await snapshotTree(s.image.path)), [], 'the entry is unchanged');
  t.equal((await s.cache.verify()).damaged, 0, 'and verifies clean');
  t.equal(await readFile(join(dest, 'bin/tool-alias'), 'utf8'), '#!/bin/sh\necho tool\necho changed\n', 'a write shows through the clone own hardlink');
});

t.test('an existing empty directory is a valid destination', async (t) => {
  const s = await pulled(t);
  const dest = join(s.dir, 'empty');
  await mkdir(dest);
  await s.cache.clone(s.image.digest, dest);
  t.same(diffTrees(await snapshotTree(s.image.path), await snapshotTree(dest)), []);
});

t.test('clone refuses a destination inside the cache, even through a symlink, and a non-empty one', async (t) => {
  const s = await pulled(t);
  const before = await readdir(s.cache.dir);
  await t.rejects(s.cache.clone(s.image.digest, join(s.cache.dir, 'copy')), { code: 'CLONE_DEST_IN_CACHE' });
  await t.rejects(s.cache.clone(s.image.digest, join(s.cache.dir, 'tmp', 'a', 'b')), { code: 'CLONE_DEST_IN_CACHE' });
  await t.rejects(s.cache.clone(s.image.digest, s.cache.dir), { code: 'CLONE_DEST_IN_CACHE' });
  const link = join(s.dir, 'sneaky');
  await symlink(join(s.cache.dir, 'images'), link);
  await t.rejects(s.cache.clone(s.image.digest, join(link, 'x')), { code: 'CLONE_DEST_IN_CACHE', message: /outside/ });
  t.same(await readdir(s.cache.dir), before, 'nothing was created in the cache');
  t.same(await readdir(join(s.cache.dir, 'images')), [s.image.digest.replace(':', '-')]);

  const full = join(s.dir, 'full');
  await mkdir(full);
  await writeFile(join(full, 'keep'), 'mine');
  await t.rejects(s.cache.clone(s.image.digest, full), { code: 'CLONE_DEST_NOT_EMPTY' });
  t.same(await readdir(full), ['keep'], 'a refused destination is left as it was');
  await t.rejects(s.cache.clone(s.image.digest, join(full, 'keep')), { code: 'CLONE_DEST_INVALID' });
  await t.rejects(s.cache.clone(`sha256:${'cd'.repeat(32)}`, join(s.dir, 'none')), { code: 'ENTRY_NOT_FOUND' });
});
