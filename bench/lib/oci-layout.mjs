// Writes OCI image layouts: layers from directories (GNU tar, sorted, fixed mtime and owner, then
// gzip -n, so the same tree always gives the same digest), configs, manifests and the index.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { runQuiet } from './measure.mjs';

export const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const FIXED_MTIME = '@1700000000';

function hashing(hash) {
  return new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

function exited(child, what) {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}: ${err.trim()}`))));
  });
}

export async function createLayout(dir) {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
}

const blobPath = (layout, digest) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));

/** Packs `srcDir` as a gzip layer blob; resolves with its descriptor and diffID. */
export async function addDirLayer(layout, srcDir) {
  const tmp = join(layout, `layer-${process.pid}.tmp`);
  const diff = createHash('sha256');
  const comp = createHash('sha256');
  const tar = spawn(
    'tar',
    ['--sort=name', `--mtime=${FIXED_MTIME}`, '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-C', srcDir, '-cf', '-', '.'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const gzip = spawn('gzip', ['-n', '-6'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = createWriteStream(tmp);
  await Promise.all([
    exited(tar, 'tar'),
    exited(gzip, 'gzip'),
    pipeline(tar.stdout, hashing(diff), gzip.stdin),
    pipeline(gzip.stdout, hashing(comp), out),
  ]);
  const digest = `sha256:${comp.digest('hex')}`;
  await rename(tmp, blobPath(layout, digest));
  const { size } = await stat(blobPath(layout, digest));
  return { mediaType: MT.layerGzip, digest, size, diffID: `sha256:${diff.digest('hex')}` };
}

export async function addJsonBlob(layout, mediaType, obj) {
  const bytes = Buffer.from(JSON.stringify(obj));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(blobPath(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Writes config + manifest for `layers` and tags it `tag` in the layout's index. */
export async function addImage(layout, tag, layers, cmd = ['/bin/sh']) {
  const config = await addJsonBlob(layout, MT.config, {
    created: '2023-11-14T22:13:20Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: cmd, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: layers.map(() => ({ created: '2023-11-14T22:13:20Z', created_by: 'bench synthetic layer' })),
  });
  const manifest = await addJsonBlob(layout, MT.manifest, {
    schemaVersion: 2,
    mediaType: MT.manifest,
    config,
    layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
  });
  const indexFile = join(layout, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8'));
  index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  index.manifests.push({ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(indexFile, JSON.stringify(index));
  return { digest: manifest.digest, config: config.digest, layers };
}

/** Pushes a layout tag to a plain-HTTP registry with skopeo. */
export async function pushWithSkopeo(layout, tag, dest) {
  await runQuiet(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${dest}`]);
}
