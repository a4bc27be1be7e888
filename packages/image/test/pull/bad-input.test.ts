import { join } from 'node:path';
import t from 'tap';
import {
  buildImage,
  diffTrees,
  freePort,
  makeLayer,
  pushImage,
  snapshotTree,
  startRegistry,
  tempDir,
  writeOciLayout,
  type TreeEntry,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher, type PullOptions } from '../../src/pull/pull.js';
import { RegistryFetcher } from '../../src/pull/registry-fetcher.js';

// Everything a user (or a registry) can get wrong, through the library's entry point: one named
// error each, with a code and a message that says what to do, and the cache exactly as it was.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const authReg = await startRegistry({ auth: { kind: 'htpasswd', users: { alice: 'secret' } } });
t.teardown(() => authReg.stop());
const base = await tempDir(t, 'bbox-bad-input-');
const cacheDir = join(base, 'cache');

const good = buildImage({ layers: [makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/ok', type: 'file', content: 'ok\n' }])] });
await pushImage(reg.url, 'bad/good', good, { tag: 'v1' });
await pushImage(authReg.url, 'bad/private', good, { tag: 'v1', auth: { username: 'alice', password: 'secret' } });

const onlyArm = buildImage({ layers: good.layers, platform: { os: 'linux', architecture: 'arm64' } });
await pushImage(reg.url, 'bad/arm-only', onlyArm, { tag: 'v1' });

const manyLayers = buildImage({ layers: Array.from({ length: 2000 }, () => good.layers[0]!) });
await pushImage(reg.url, 'bad/many-layers', manyLayers, { tag: 'v1' });

const bigManifest = buildImage({ layers: good.layers, annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } });
const bigLayout = join(base, 'big-layout');
await writeOciLayout(bigLayout, [{ tag: 'v1', image: bigManifest }]);

const bigConfig = buildImage({ layers: good.layers, config: { Labels: { pad: 'y'.repeat(20 * 1024 * 1024) } } });
await pushImage(reg.url, 'bad/big-config', bigConfig, { tag: 'v1' });

// The registry refuses to store a manifest of an unknown type, so this one is served from a layout.
const weirdManifest = buildImage({ layers: good.layers, editManifest: (m) => ({ ...m, mediaType: 'application/x-bbox-weird' }) });
const weirdLayout = join(base, 'weird-layout');
await writeOciLayout(weirdLayout, [{ tag: 'v1', image: { ...weirdManifest, mediaType: 'application/x-bbox-weird' } }]);
const bigPushed = await pushImage(reg.url, 'bad/big-manifest', bigManifest, { tag: 'v1' }).then(
  () => true,
  () => false,
);

const weirdConfig = buildImage({
  layers: good.layers,
  editManifest: (m) => ({ ...m, config: { ...m.config, mediaType: 'application/vnd.example.not-an-image+json' } }),
});
await pushImage(reg.url, 'bad/weird-config', weirdConfig, { tag: 'v1' });

const foreign = buildImage({ layers: [makeLayer([{ path: 'x', type: 'file', content: 'x' }], { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' })] });
await pushImage(reg.url, 'bad/foreign', foreign, { tag: 'v1' });

const closedPort = await freePort();

// A cache with one image in it, so "untouched" means something.
await pullWithFetcher(`${reg.host}/bad/good:v1`, { cache: new Cache(cacheDir), platform: 'linux/amd64' });

interface BadInput {
  name: string;
  ref: string;
  options?: Omit<PullOptions, 'cache'>;
  codes: string[];
}

const cases: BadInput[] = [
  { name: 'upper-case repository', ref: `${reg.host}/Bad/Good:v1`, codes: ['INVALID_REFERENCE'] },
  { name: 'empty reference', ref: '', codes: ['INVALID_REFERENCE'] },
  { name: 'whitespace', ref: 'alpine latest', codes: ['INVALID_REFERENCE'] },
  { name: 'empty tag', ref: `${reg.host}/bad/good:`, codes: ['INVALID_REFERENCE'] },
  { name: 'short digest', ref: `${reg.host}/bad/good@sha256:1234`, codes: ['INVALID_REFERENCE'] },
  { name: 'unknown digest algorithm', ref: `${reg.host}/bad/good@md5:${'a'.repeat(32)}`, codes: ['INVALID_REFERENCE'] },
  { name: 'tag too long', ref: `${reg.host}/bad/good:${'t'.repeat(200)}`, codes: ['INVALID_REFERENCE'] },
  { name: 'path climbing', ref: `${reg.host}/../etc:v1`, codes: ['INVALID_REFERENCE'] },
  { name: 'bare id', ref: 'a'.repeat(64), codes: ['INVALID_REFERENCE'] },
  { name: 'unknown policy', ref: `${reg.host}/bad/good:v1`, options: { policy: 'sometimes' }, codes: ['INVALID_PULL_POLICY'] },
  { name: 'max-age without a duration', ref: `${reg.host}/bad/good:v1`, options: { policy: 'max-age=' }, codes: ['INVALID_PULL_POLICY', 'INVALID_DURATION'] },
  { name: 'max-age with a bad duration', ref: `${reg.host}/bad/good:v1`, options: { policy: 'max-age=soon' }, codes: ['INVALID_PULL_POLICY', 'INVALID_DURATION'] },
  { name: 'platform without an architecture', ref: `${reg.host}/bad/good:v1`, options: { platform: 'linux' }, codes: ['INVALID_PLATFORM'] },
  { name: 'platform with an empty part', ref: `${reg.host}/bad/good:v1`, options: { platform: 'linux//v7' }, codes: ['INVALID_PLATFORM'] },
  { name: 'platform with too many parts', ref: `${reg.host}/bad/good:v1`, options: { platform: 'linux/amd64/v1/extra' }, codes: ['INVALID_PLATFORM'] },
  { name: 'digest option that is not a digest', ref: `${reg.host}/bad/good:v1`, options: { digest: 'sha256:xyz' }, codes: ['INVALID_DIGEST'] },
  { name: 'digest option contradicting the reference', ref: `${reg.host}/bad/good@${good.digest}`, options: { digest: `sha256:${'0'.repeat(64)}` }, codes: ['INVALID_DIGEST'] },
  { name: 'never, not cached', ref: `${reg.host}/bad/arm-only:v1`, options: { policy: 'never' }, codes: ['IMAGE_NOT_CACHED'] },
  { name: 'never, pinned digest not cached', ref: `${reg.host}/bad/good@sha256:${'1'.repeat(64)}`, options: { policy: 'never' }, codes: ['IMAGE_NOT_CACHED'] },
  { name: 'unknown tag', ref: `${reg.host}/bad/good:nope`, codes: ['MANIFEST_UNKNOWN'] },
  { name: 'unknown repository', ref: `${reg.host}/bad/nothing-here:v1`, codes: ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'] },
  { name: 'platform the image lacks', ref: `${reg.host}/bad/arm-only:v1`, options: { platform: 'linux/amd64' }, codes: ['PLATFORM_NOT_FOUND'] },
  { name: 'absurd layer count', ref: `${reg.host}/bad/many-layers:v1`, codes: ['INVALID_IMAGE'] },
  { name: 'oversized manifest (OCI layout)', ref: `oci-layout:${bigLayout}:v1`, codes: ['TOO_LARGE', 'LAYOUT_INVALID', 'INVALID_MANIFEST'] },
  ...(bigPushed ? [{ name: 'oversized manifest (registry)', ref: `${reg.host}/bad/big-manifest:v1`, codes: ['TOO_LARGE'] }] : []),
  { name: 'oversized config blob', ref: `${reg.host}/bad/big-config:v1`, codes: ['TOO_LARGE'] },
  { name: 'unknown manifest media type (OCI layout)', ref: `oci-layout:${weirdLayout}:v1`, codes: ['UNSUPPORTED_MEDIA_TYPE', 'INVALID_MANIFEST', 'LAYOUT_INVALID'] },
  { name: 'config that is not an image config', ref: `${reg.host}/bad/weird-config:v1`, codes: ['UNSUPPORTED_MEDIA_TYPE', 'INVALID_MANIFEST'] },
  { name: 'non-distributable layer', ref: `${reg.host}/bad/foreign:v1`, codes: ['UNSUPPORTED_MEDIA_TYPE'] },
  { name: 'auth refused: no credentials', ref: `${authReg.host}/bad/private:v1`, options: { fetcher: new RegistryFetcher({ dockerConfigDir: join(base, 'no-docker') }) }, codes: ['UNAUTHORIZED'] },
  {
    name: 'auth refused: wrong password',
    ref: `${authReg.host}/bad/private:v1`,
    options: { fetcher: new RegistryFetcher({ dockerConfigDir: join(base, 'no-docker'), credentials: () => ({ username: 'alice', password: 'wrong' }) }) },
    codes: ['UNAUTHORIZED'],
  },
  { name: 'registry down', ref: `127.0.0.1:${closedPort}/bad/good:v1`, options: { fetcher: new RegistryFetcher({ retries: 0 }) }, codes: ['REGISTRY_UNAVAILABLE'] },
  { name: 'layout that does not exist', ref: `oci-layout:${join(base, 'missing')}:v1`, codes: ['LAYOUT_INVALID', 'LAYOUT_NOT_FOUND'] },
];

/** The cache's tree, minus what reads legitimately touch (last-used stamps, directory times). */
async function cacheState(): Promise<TreeEntry[]> {
  return (await snapshotTree(cacheDir)).filter((e) => !e.path.endsWith('/last-used') && !e.path.startsWith('locks/'));
}

let clear = 0;
for (const c of cases) {
  t.test(c.name, async (t) => {
    const before = await cacheState();
    const err = await pullWithFetcher(c.ref, { cache: new Cache(cacheDir), platform: 'linux/amd64', ...c.options }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    if (!err) return void t.fail(`${c.ref} was pulled; expected ${c.codes.join(' or ')}`);
    t.ok(c.codes.includes(String(err.code)), `code ${String(err.code)} is one of ${c.codes.join(', ')}: ${err.message}`);
    t.ok(err instanceof Error && err.name !== 'Error' && err.name !== 'TypeError', `a named error class (${err.name})`);
    t.ok(err.message.length > 30 && !/\n\s+at /.test(err.message), 'a readable message');
    t.same(diffTrees(before, await cacheState(), { ignore: ['dirMtime'] }), [], 'the cache is untouched');
    if (c.codes.includes(String(err.code))) clear++;
  });
}

t.test('summary', async (t) => {
  t.equal(clear, cases.length, 'every bad input ended in its clear error');
  t.comment(`bad input (library): ${cases.length} inputs, ${clear} clear errors, cache untouched`);
});
