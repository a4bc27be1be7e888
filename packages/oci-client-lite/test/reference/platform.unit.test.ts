import t from 'tap';
import { parsePlatform, formatPlatform, hostPlatform, selectManifest, PlatformNotFoundError, type ImageIndex } from '../../src/index.js';

const d = (n: number) => 'sha256:' + String(n).repeat(64).slice(0, 64);
const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(1), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(2), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(3), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(4), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(5), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(6), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
  ],
};

t.test('parses and formats platforms', async (t) => {
  t.same(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  t.same(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  t.same(parsePlatform('Linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  t.same(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  t.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d', 'linux/am d64']) {
    t.throws(() => parsePlatform(bad), { code: 'INVALID_PLATFORM', message: /os\/arch/ }, bad);
  }
});

t.test('host platform is linux on the OCI name of the CPU', async (t) => {
  const p = hostPlatform();
  t.equal(p.os, 'linux');
  const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386' };
  t.equal(p.architecture, expected[process.arch] ?? p.architecture);
  t.not(p.architecture, 'x64');
});

t.test('selects os/arch exactly, the variant only when asked', async (t) => {
  t.equal(selectManifest(index, { os: 'linux', architecture: 'amd64' }).digest, d(1));
  t.equal(selectManifest(index, { os: 'windows', architecture: 'amd64' }).digest, d(6));
  t.equal(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v6' }).digest, d(2));
  t.equal(selectManifest(index, { os: 'linux', architecture: 'arm' }).digest, d(3), 'arm without variant prefers v7');
  t.equal(selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest, d(4), 'arm64 v8 equals no variant');
  t.equal(selectManifest(index, { os: 'linux', architecture: 'arm64' }).digest, d(4));
});

t.test('a missing platform names what is available', async (t) => {
  const err = t.throws(() => selectManifest(index, { os: 'linux', architecture: 's390x' })) as unknown as PlatformNotFoundError;
  t.equal(err.code, 'PLATFORM_NOT_FOUND');
  t.same(err.available, ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'windows/amd64']);
  t.match(err.message, /linux\/s390x.*available: linux\/amd64, linux\/arm\/v6/);
  t.throws(() => selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v5' }), { code: 'PLATFORM_NOT_FOUND' });
  t.throws(() => selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v9' }), { code: 'PLATFORM_NOT_FOUND' });
});
