import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFile, mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blobDataPath,
  buildImage,
  diffTrees,
  makeLayer,
  pushImage,
  sha256Digest,
  snapshotTree,
  startRegistry,
  tamperBlob,
  tempDir,
  writeOciLayout,
  writeTar,
  type TarEntry,
} from '../../src/index.js';

const run = promisify(execFile);

t.test('tamperBlob changes one byte of a stored blob, keeping its size', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const layer = makeLayer([{ path: 'x', type: 'file', content: 'x'.repeat(5000) }]);
  await pushImage(reg.url, 'store/app', buildImage({ layers: [layer] }), { tag: 'v1' });
  const file = blobDataPath(reg.dataDir, layer.digest);
  t.equal((await stat(file)).size, layer.size);
  const at = await tamperBlob(reg.dataDir, layer.digest);
  t.equal(at, Math.floor(layer.size / 2));
  const res = await fetch(`${reg.url}/v2/store/app/blobs/${layer.digest}`);
  const body = Buffer.from(await res.arrayBuffer());
  t.equal(body.length, layer.size);
  t.not(sha256Digest(body), layer.digest, 'the registry now serves bytes that fail verification');
  t.equal(body[at], (layer.blob[at] ?? 0) ^ 0xff);
  t.throws(() => blobDataPath(reg.dataDir, 'md5:abc'), { code: 'BAD_DIGEST' });
});

const entries: TarEntry[] = [
  { path: './', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
  { path: 'etc/', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
  { path: 'etc/conf', type: 'file', content: 'a=1\n', mode: 0o640, uid: 12, gid: 34, mtime: 1_600_000_001 },
  { path: 'etc/conf-link', type: 'hardlink', linkname: 'etc/conf' },
  { path: 'etc/up', type: 'symlink', linkname: '/', mtime: 1_600_000_002 },
  { path: 'run/', type: 'dir', mode: 0o1777, mtime: 1_600_000_000 },
  { path: 'run/pipe', type: 'fifo', mode: 0o600, mtime: 1_600_000_000 },
  { path: 'null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: 1_600_000_000 },
];

t.test('snapshots of umoci and GNU tar extractions of one layer agree', async (t) => {
  const dir = await tempDir(t);
  const img = buildImage({ layers: [makeLayer(entries)] });
  await writeOciLayout(join(dir, 'layout'), [{ tag: 't', image: img }]);
  await run('umoci', ['raw', 'unpack', '--image', `${join(dir, 'layout')}:t`, join(dir, 'umoci')]);
  await mkdir(join(dir, 'gnu'));
  await writeFile(join(dir, 'layer.tar'), writeTar(entries));
  await run('tar', ['--same-owner', '-xpf', join(dir, 'layer.tar'), '-C', join(dir, 'gnu')]);

  const a = await snapshotTree(join(dir, 'umoci'));
  const b = await snapshotTree(join(dir, 'gnu'));
  t.same(diffTrees(a, b), [], 'identical, mtimes included');
  const conf = a.find((e) => e.path === 'etc/conf');
  t.match(conf, { type: 'file', mode: 0o640, uid: 12, gid: 34, size: 4, mtime: 1_600_000_001, hardlinkGroup: 'etc/conf', sha256: sha256Digest('a=1\n').slice(7) });
  t.match(a.find((e) => e.path === 'etc/up'), { type: 'symlink', linkTarget: '/' });
  t.notOk(a.some((e) => e.path.startsWith('etc/up/')), 'symlinks are not followed');
  t.match(a.find((e) => e.path === 'null'), { type: 'char', rdev: '1:3' });
  t.match(a.find((e) => e.path === 'run'), { type: 'dir', mode: 0o1777 });
  t.same(a.map((e) => e.path), [...a.map((e) => e.path)].sort());

  // Break the hardlink, change content, add a file, touch a directory.
  await unlink(join(dir, 'gnu', 'etc', 'conf-link'));
  await copyFile(join(dir, 'gnu', 'etc', 'conf'), join(dir, 'gnu', 'etc', 'conf-link'));
  await writeFile(join(dir, 'gnu', 'extra'), 'new');
  const c = await snapshotTree(join(dir, 'gnu'));
  const diffs = diffTrees(a, c, { ignore: ['mtime', 'uid', 'gid'] });
  t.same(
    diffs.map((d) => [d.path, d.kind, d.field ?? '']),
    [
      ['etc/conf', 'changed', 'hardlinkGroup'],
      ['etc/conf-link', 'changed', 'hardlinkGroup'],
      ['extra', 'extra', ''],
    ],
  );
  const dirOnly = diffTrees(a, c, { ignore: ['dirMtime', 'hardlink', 'uid', 'gid'] });
  t.ok(dirOnly.some((d) => d.path === 'etc/conf-link' && d.field === 'mtime'), 'file mtimes still compared');
  t.notOk(dirOnly.some((d) => d.field === 'mtime' && (d.path === '.' || d.path === 'etc')), 'directory mtimes ignored');
  t.notOk(dirOnly.some((d) => d.field === 'hardlinkGroup'));
  t.same(diffTrees(c, a).filter((d) => d.kind === 'missing').map((d) => d.path), ['extra']);
});
