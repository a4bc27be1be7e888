import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, buildIndex, makeLayer, pushImage, skopeoCopy, startRegistry, sha256Digest, tempDir } from '../../src/index.js';

async function layoutIndex(dir: string): Promise<{ manifests: Array<{ digest: string; mediaType: string }> }> {
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
}

const base = makeLayer([
  { path: 'etc/', type: 'dir' },
  { path: 'etc/os-release', type: 'file', content: 'ID=testkit\n' },
]);
const app = makeLayer([{ path: 'app', type: 'file', content: 'app', mode: 0o755 }]);

t.test('a pushed image is pullable by skopeo with the same manifest digest', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const img = buildImage({ layers: [base, app], config: { Cmd: ['/app'], Env: ['A=1'], WorkingDir: '/' } });
  const res = await pushImage(reg.url, 'fixtures/simple', img, { tag: 'v1' });
  t.equal(res.digest, img.digest);
  t.same(new Set(res.uploaded), new Set([img.configDigest, base.digest, app.digest]));

  const head = await fetch(`${reg.url}/v2/fixtures/simple/manifests/v1`, { method: 'HEAD', headers: { accept: img.mediaType } });
  t.equal(head.headers.get('docker-content-digest'), img.digest);

  const dir = await tempDir(t);
  await skopeoCopy(`docker://${reg.host}/fixtures/simple:v1`, `oci:${dir}:v1`, { preserveDigests: true });
  const idx = await layoutIndex(dir);
  t.equal(idx.manifests[0]?.digest, img.digest);
  const config = await readFile(join(dir, 'blobs', 'sha256', img.configDigest.slice(7)));
  t.equal(sha256Digest(config), img.configDigest);
  t.same(JSON.parse(config.toString()).config.Cmd, ['/app']);

  const again = await pushImage(reg.url, 'fixtures/simple', img, { tag: 'v2' });
  t.same(again.uploaded, [], 'blobs already present are not uploaded again');
  t.equal(again.skipped.length, 3);
});

t.test('an index is pushed with its children and pulled with --all', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const amd = buildImage({ layers: [base], platform: { os: 'linux', architecture: 'amd64' } });
  const arm = buildImage({ layers: [base, app], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  const idx = buildIndex([amd, arm]);
  t.same(idx.manifest.manifests.map((d) => d.platform), [amd.platform, arm.platform]);
  await pushImage(reg.url, 'fixtures/multi', idx, { tag: 'latest' });
  const child = await fetch(`${reg.url}/v2/fixtures/multi/manifests/${arm.digest}`, { headers: { accept: arm.mediaType } });
  t.equal(child.status, 200, 'children are reachable by digest');
  await child.arrayBuffer();

  const dir = await tempDir(t);
  await skopeoCopy(`docker://${reg.host}/fixtures/multi:latest`, `oci:${dir}:latest`, { all: true, preserveDigests: true });
  t.equal((await layoutIndex(dir)).manifests[0]?.digest, idx.digest);
  for (const img of [amd, arm]) {
    const bytes = await readFile(join(dir, 'blobs', 'sha256', img.digest.slice(7)));
    t.equal(sha256Digest(bytes), img.digest, `child ${img.platform.architecture} copied`);
  }
});

t.test('Docker schema 2 images and manifest lists', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const dl = makeLayer([{ path: 'd', type: 'file', content: 'docker' }], { docker: true });
  const img = buildImage({ layers: [dl], docker: true });
  t.equal(img.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  t.equal(img.manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
  const list = buildIndex([img], { docker: true });
  t.equal(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
  await pushImage(reg.host, 'fixtures/docker', list, { tag: 'v1' });
  const res = await fetch(`${reg.url}/v2/fixtures/docker/manifests/v1`, { headers: { accept: list.mediaType } });
  t.equal(res.headers.get('content-type'), list.mediaType);
  t.equal(sha256Digest(Buffer.from(await res.arrayBuffer())), list.digest);
});

t.test('editConfig and editManifest produce deliberately broken images', async (t) => {
  const img = buildImage({
    layers: [base],
    editConfig: (c) => ({ ...c, rootfs: { type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)] } }),
    editManifest: (m) => ({ ...m, layers: m.layers.map((l) => ({ ...l, size: l.size + 1 })) }),
  });
  t.same(img.config.rootfs.diff_ids, ['sha256:' + '0'.repeat(64)]);
  t.equal(img.manifest.layers[0]?.size, base.size + 1);
  t.equal(img.digest, sha256Digest(img.manifestBytes));
});
