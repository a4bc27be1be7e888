import t from 'tap';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { makeLayer, sha256Digest as sha, writeTar } from '../../src/index.js';
const entries = [{ path: 'a.txt', type: 'file' as const, content: 'hello layer\n'.repeat(100) }];

t.test('gzip layer: blob digest, diffID of the tar, OCI media type', async (t) => {
  const l = makeLayer(entries);
  t.equal(l.digest, sha(l.blob));
  t.equal(l.size, l.blob.length);
  t.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.same(gunzipSync(l.blob), writeTar(entries));
  t.equal(l.diffID, sha(writeTar(entries)));
  t.not(l.digest, l.diffID);
});

t.test('zstd layer decompresses with the zstd CLI to the same tar', async (t) => {
  const l = makeLayer(entries, { compression: 'zstd' });
  t.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const out = spawnSync('zstd', ['-d', '-c'], { input: l.blob });
  t.equal(out.status, 0);
  t.equal(sha(out.stdout), l.diffID);
});

t.test('uncompressed and Docker media types', async (t) => {
  const none = makeLayer(entries, { compression: 'none' });
  t.equal(none.digest, none.diffID);
  t.equal(none.mediaType, 'application/vnd.oci.image.layer.v1.tar');
  t.equal(makeLayer(entries, { docker: true }).mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  t.equal(makeLayer(entries, { mediaType: 'x/y' }).mediaType, 'x/y');
  const raw = writeTar(entries);
  t.equal(makeLayer(raw).diffID, sha(raw), 'a ready tar is accepted');
});
