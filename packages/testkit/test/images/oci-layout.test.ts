import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, buildIndex, makeLayer, startRegistry, skopeoCopy, tempDir, writeOciLayout } from '../../src/index.js';

const run = promisify(execFile);

const lower = makeLayer([
  { path: 'etc/', type: 'dir' },
  { path: 'etc/keep', type: 'file', content: 'keep' },
  { path: 'etc/gone', type: 'file', content: 'gone' },
  { path: 'opaque/', type: 'dir' },
  { path: 'opaque/old', type: 'file', content: 'old' },
  { path: 'bin/', type: 'dir' },
  { path: 'bin/tool', type: 'file', content: '#!/bin/sh\n', mode: 0o755 },
]);
const upper = makeLayer([
  { path: 'etc/.wh.gone', type: 'file' },
  { path: 'opaque/.wh..wh..opq', type: 'file' },
  { path: 'opaque/new', type: 'file', content: 'new' },
  { path: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' },
  { path: 'bin/sym', type: 'symlink', linkname: 'tool' },
]);

t.test('umoci unpacks a written layout, applying whiteouts and hardlinks', async (t) => {
  const dir = await tempDir(t);
  const img = buildImage({ layers: [lower, upper], config: { Entrypoint: ['/bin/tool'] } });
  await writeOciLayout(join(dir, 'layout'), [{ tag: 'v1', image: img }]);
  const layout = JSON.parse(await readFile(join(dir, 'layout', 'oci-layout'), 'utf8'));
  t.same(layout, { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(await readFile(join(dir, 'layout', 'index.json'), 'utf8'));
  t.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'v1');
  t.equal(index.manifests[0].digest, img.digest);

  const rootfs = join(dir, 'rootfs');
  await run('umoci', ['raw', 'unpack', '--image', `${join(dir, 'layout')}:v1`, rootfs]);
  t.same((await readdir(join(rootfs, 'etc'))).sort(), ['keep']);
  t.same(await readdir(join(rootfs, 'opaque')), ['new']);
  const tool = await lstat(join(rootfs, 'bin', 'tool'));
  const alias = await lstat(join(rootfs, 'bin', 'alias'));
  t.equal(alias.ino, tool.ino, 'hardlink shares the inode');
  t.equal(tool.mode & 0o7777, 0o755);
  t.equal(await readlink(join(rootfs, 'bin', 'sym')), 'tool');
});

t.test('skopeo pushes a layout (image and index) to a registry', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const dir = await tempDir(t);
  const amd = buildImage({ layers: [lower] });
  const arm = buildImage({ layers: [lower, upper], platform: { os: 'linux', architecture: 'arm64' } });
  const idx = buildIndex([amd, arm]);
  await writeOciLayout(dir, [
    { tag: 'single', image: amd },
    { tag: 'multi', image: idx },
  ]);
  await skopeoCopy(`oci:${dir}:single`, `docker://${reg.host}/layout/single:v1`, { preserveDigests: true });
  await skopeoCopy(`oci:${dir}:multi`, `docker://${reg.host}/layout/multi:v1`, { all: true, preserveDigests: true });
  const one = await fetch(`${reg.url}/v2/layout/single/manifests/v1`, { method: 'HEAD', headers: { accept: amd.mediaType } });
  t.equal(one.headers.get('docker-content-digest'), amd.digest);
  const many = await fetch(`${reg.url}/v2/layout/multi/manifests/v1`, { method: 'HEAD', headers: { accept: idx.mediaType } });
  t.equal(many.headers.get('docker-content-digest'), idx.digest);
});
