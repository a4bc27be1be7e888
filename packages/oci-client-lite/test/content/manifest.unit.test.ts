import t from 'tap';
import { parseManifest, parseImageConfig, MediaType, MANIFEST_ACCEPT, type ImageManifest } from '../../src/index.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);
const j = (v: unknown) => Buffer.from(JSON.stringify(v));
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: D1, size: 10 },
  layers: [{ mediaType: MediaType.OciLayerGzip, digest: D2, size: 20 }],
};

t.test('parses OCI and Docker schema 2 manifests and indexes', async (t) => {
  const m = parseManifest(j(manifest));
  t.equal(m.kind, 'manifest');
  t.equal(m.mediaType, MediaType.OciManifest);
  const docker = parseManifest(j({ ...manifest, mediaType: MediaType.DockerManifest }));
  t.equal(docker.mediaType, MediaType.DockerManifest);
  const idx = parseManifest(j({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ mediaType: MediaType.DockerManifest, digest: D1, size: 3 }] }));
  t.equal(idx.kind, 'index');
  const { mediaType: _m, ...bare } = manifest;
  t.equal(parseManifest(j(bare), `${MediaType.DockerManifest}; charset=utf-8`).mediaType, MediaType.DockerManifest, 'header type when the body has none');
  t.equal(parseManifest(j({ schemaVersion: 2, manifests: [] })).kind, 'index', 'shape when neither says');
  for (const mt of [MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest]) t.ok(MANIFEST_ACCEPT.includes(mt));
});

t.test('refuses schema 1 with a clear error', async (t) => {
  t.throws(() => parseManifest(j({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] })), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /schema 1.*push the image again/ });
  t.throws(() => parseManifest(j({}), 'application/vnd.docker.distribution.manifest.v1+prettyjws'), { code: 'UNSUPPORTED_MEDIA_TYPE' });
});

t.test('refuses malformed documents and artifacts', async (t) => {
  t.throws(() => parseManifest(Buffer.from('{nope')), { code: 'INVALID_MANIFEST', message: /not JSON/ });
  t.throws(() => parseManifest(j([1])), { code: 'INVALID_MANIFEST' });
  t.throws(() => parseManifest(j({ ...manifest, schemaVersion: 3 })), { code: 'INVALID_MANIFEST', message: /schemaVersion/ });
  t.throws(() => parseManifest(j({ ...manifest, layers: 'x' })), { code: 'INVALID_MANIFEST', message: /layers/ });
  t.throws(() => parseManifest(j({ ...manifest, config: { ...manifest.config, digest: 'sha256:zz' } })), { code: 'INVALID_MANIFEST', message: /config\.digest/ });
  t.throws(() => parseManifest(j({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] })), { code: 'INVALID_MANIFEST', message: /layers\[0\]\.size/ });
  t.throws(() => parseManifest(j({ ...manifest, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' })), { code: 'UNSUPPORTED_MEDIA_TYPE' });
  t.throws(() => parseManifest(j({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ digest: D1 }] })), { code: 'INVALID_MANIFEST', message: /manifests\[0\]/ });
});

t.test('checks the image config against its manifest', async (t) => {
  const m = manifest as ImageManifest;
  const cfg = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D1] } };
  t.equal(parseImageConfig(j(cfg), m).os, 'linux');
  t.throws(() => parseImageConfig(j({ ...cfg, rootfs: { type: 'layers', diff_ids: [] } }), m), { code: 'INVALID_MANIFEST', message: /0 diff_ids for 1 layers/ });
  t.throws(() => parseImageConfig(j({ ...cfg, rootfs: { type: 'x', diff_ids: [D1] } }), m), { code: 'INVALID_MANIFEST' });
  t.throws(() => parseImageConfig(j({ ...cfg, rootfs: { type: 'layers', diff_ids: ['nope'] } }), m), { code: 'INVALID_MANIFEST', message: /diff_id/ });
  const helm = { ...m, config: { ...m.config, mediaType: 'application/vnd.cncf.helm.config.v1+json' } };
  t.throws(() => parseImageConfig(j(cfg), helm), { code: 'UNSUPPORTED_MEDIA_TYPE', message: /artifact/ });
});
