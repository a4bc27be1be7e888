import { spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { build } from 'esbuild';
import t, { type Test } from 'tap';
import {
  buildImage,
  makeLayer,
  paxRecord,
  pushImage,
  startRegistry,
  tempDir,
  writeOciLayout,
  type Layer,
  type TarEntry,
} from '@broodbox/testkit';
import { Cache, pullWithFetcher } from '../../src/index.js';
import { extractLayer } from '../../src/layers/extract.js';
import { DEFAULT_LIMITS } from '../../src/layers/limits.js';

/** Debian's iputils-ping: `cap_net_raw=ep` as a VFS_CAP_REVISION_2 value. */
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');
/** A value with a newline, bytes that are not UTF-8, a NUL and an `=`. */
const BINARY = Buffer.from([0x00, 0x0a, 0xff, 0x80, 0x3d, 0x41]);
const T0 = 1_700_000_000;
const NOBODY = 65534;

const dir = (path: string, xattrs?: TarEntry['xattrs']): TarEntry => ({ path, type: 'dir', mtime: T0, ...(xattrs ? { xattrs } : {}) });
const file = (path: string, content: string, xattrs?: TarEntry['xattrs'], extra: Partial<TarEntry> = {}): TarEntry => ({
  path,
  type: 'file',
  content,
  mtime: T0,
  ...(xattrs ? { xattrs } : {}),
  ...extra,
});

/** What `getfattr` shows under `root`, every name, paths relative to the root (`.` is the root). */
function dumpXattrs(root: string): string[] {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`getfattr failed: ${r.stderr}`);
  const out: string[] = [];
  let path = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) path = line.slice(8) === root ? '.' : line.slice(8 + root.length + 1);
    else if (line !== '') out.push(`${path} ${line}`);
  }
  return out.sort();
}

async function registryWith(t: Test, layers: Layer[], tag = 'latest') {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const image = buildImage({ layers });
  await pushImage(reg.url, 'test/xattr', image, { tag });
  const dir = await tempDir(t, 'bbox-xattr-');
  const cache = new Cache(join(dir, 'cache'));
  return { reg, image, dir, cache, ref: `${reg.host}/test/xattr:${tag}` };
}

const ping = [
  dir('bin', { 'user.dir': 'base' }),
  file('bin/ping', 'ping binary', { 'security.capability': CAP_NET_RAW }, { mode: 0o755 }),
  { path: 'bin/ping6', type: 'hardlink', linkname: 'bin/ping', mtime: T0 } satisfies TarEntry,
  dir('etc'),
  file('etc/conf', 'conf', { 'user.a': 'x', 'user.bin': BINARY, 'trusted.t': 't', 'security.selinux': 'system_u:object_r:etc_t:s0' }),
  file('etc/plain', 'no attributes'),
  { path: 'lnk', type: 'symlink', linkname: 'bin/ping', mtime: T0, xattrs: { 'trusted.sym': 's' } } satisfies TarEntry,
];
const upper = [
  dir('./', { 'user.root': 'r' }),
  dir('bin', { 'user.dir2': 'upper' }),
  file('etc/plain', 'replaced, now with one', { 'user.new': 'n' }),
  file('lib.so', 'from bsdtar', undefined, { pax: { 'LIBARCHIVE.xattr.user.lib': 'aGVsbG8', 'LIBARCHIVE.xattr.user.both': 'bGli', 'SCHILY.xattr.user.both': 'schily' } }),
];

t.test('a pulled rootfs has the same extended attributes as umoci raw unpack gives', async (t) => {
  const layers = [makeLayer(ping), makeLayer(upper)];
  const s = await registryWith(t, layers);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  t.same(pulled.stats.warnings, undefined, 'no warning when setfattr is there');

  await writeOciLayout(join(s.dir, 'layout'), [{ tag: 'test', image: s.image }]);
  const umoci = spawnSync('umoci', ['raw', 'unpack', '--image', `${join(s.dir, 'layout')}:test`, join(s.dir, 'umoci')], { encoding: 'utf8' });
  t.equal(umoci.status, 0, umoci.stderr);
  const ours = dumpXattrs(pulled.path);
  const theirs = dumpXattrs(join(s.dir, 'umoci'));
  // umoci 0.4 knows only SCHILY records; libarchive's own form is read by bbox as well.
  t.same(ours.filter((l) => !l.includes('user.lib=')), theirs, 'same attributes as umoci');
  t.same(ours, [
    '. user.root=0x72',
    'bin user.dir2=0x7570706572',
    `bin/ping security.capability=0x${CAP_NET_RAW.toString('hex')}`,
    `bin/ping6 security.capability=0x${CAP_NET_RAW.toString('hex')}`,
    `etc/conf trusted.t=0x74`,
    `etc/conf user.a=0x78`,
    `etc/conf user.bin=0x${BINARY.toString('hex')}`,
    'etc/plain user.new=0x6e',
    `lib.so user.both=0x${Buffer.from('schily').toString('hex')}`,
    `lib.so user.lib=0x${Buffer.from('hello').toString('hex')}`,
    'lnk trusted.sym=0x73',
  ]);
  const report = await s.cache.verify();
  t.same(report.entries.map((e) => [e.ok, e.problems]), [[true, []]], 'verify finds the recorded attributes');
  await s.cache.clone(pulled.digest, join(s.dir, 'clone'));
  t.same(dumpXattrs(join(s.dir, 'clone')), ours, 'a clone keeps them');
});

t.test('an archive written by GNU tar --xattrs is read with every attribute', async (t) => {
  const work = await tempDir(t, 'bbox-xattr-gnu-');
  const src = join(work, 'src');
  const long = `${'d'.repeat(90)}/${'f'.repeat(120)}`;
  await mkdir(join(src, 'd'.repeat(90)), { recursive: true });
  await mkdir(join(src, 'etc'));
  await writeFile(join(src, 'ping'), 'ping');
  await writeFile(join(src, long), 'long');
  await writeFile(join(src, 'etc/conf'), 'conf');
  await symlink('ping', join(src, 'lnk'));
  const set = (args: string[]) => t.equal(spawnSync('setfattr', args).status, 0, `setfattr ${args.join(' ')}`);
  set(['-n', 'security.capability', '-v', `0x${CAP_NET_RAW.toString('hex')}`, join(src, 'ping')]);
  set(['-n', 'user.bin', '-v', `0x${BINARY.toString('hex')}`, join(src, long)]);
  set(['-n', 'user.dir', '-v', 'etc', join(src, 'etc')]);
  set(['-n', 'user.a', '-v', 'x', join(src, 'etc/conf')]);
  set(['-h', '-n', 'trusted.sym', '-v', 's', join(src, 'lnk')]);
  const tar = spawnSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-C', src, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
  t.equal(tar.status, 0, tar.stderr?.toString());
  t.ok(tar.stdout.includes('SCHILY.xattr.security.capability='), 'GNU tar wrote SCHILY records');
  const s = await registryWith(t, [makeLayer(tar.stdout)]);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const expected = dumpXattrs(src);
  t.equal(expected.length, 5);
  t.same(dumpXattrs(pulled.path), expected, 'the rootfs has what the source tree had');
});

t.test('the attributes survive into a VM root disk built with mkfs.ext4 -d', async (t) => {
  const s = await registryWith(t, [makeLayer(ping)]);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const disk = join(s.dir, 'root.img');
  // The options the VM layer's root disk builder uses.
  const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0', '-O', '^has_journal', '-E', 'root_owner=0:0', '-d', pulled.path, disk, '64M'], { encoding: 'utf8' });
  t.equal(mkfs.status, 0, mkfs.stderr);
  const ea = (path: string) => spawnSync('debugfs', ['-R', `ea_list ${path}`, disk], { encoding: 'utf8' }).stdout;
  t.match(ea('/bin/ping'), /security\.capability \(20\) = 01 00 00 02 00 20 00 00 00 00/, 'file capability on the disk');
  t.match(ea('/etc/conf'), /user\.a \(1\) = "x"/);
  t.match(ea('/etc/conf'), /user\.bin \(6\) = 00 0a ff 80 3d 41/);
  t.notMatch(ea('/etc/conf'), /selinux/);
  t.match(ea('/bin'), /user\.dir \(4\) = "base"/, 'directory attribute on the disk');
  t.match(ea('/lnk'), /trusted\.sym \(1\) = "s"/, 'symlink attribute on the disk');
});

t.test('verify reports attributes changed, added and removed on a rootfs', async (t) => {
  const s = await registryWith(t, [makeLayer(ping)]);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const set = (...args: string[]) => t.equal(spawnSync('setfattr', args).status, 0, `setfattr ${args.join(' ')}`);
  set('-n', 'user.a', '-v', 'changed', join(pulled.path, 'etc/conf'));
  set('-n', 'user.added', '-v', '1', join(pulled.path, 'etc/plain'));
  set('-x', 'user.dir', join(pulled.path, 'bin'));
  const report = await s.cache.verify();
  const problems = report.entries[0]!.problems.filter((p) => p.field === 'xattrs');
  t.same(
    problems.map((p) => [p.path, p.expected, p.actual]),
    [
      ['bin', 'user.dir=0x62617365', ''],
      ['etc/conf', `trusted.t=0x74, user.a=0x78, user.bin=0x${BINARY.toString('hex')}`, `trusted.t=0x74, user.a=0x6368616e676564, user.bin=0x${BINARY.toString('hex')}`],
      ['etc/plain', '', 'user.added=0x31'],
    ],
  );
  t.equal(report.entries[0]!.ok, false);
});

t.test('without setfattr the pull succeeds, warns once and records no attributes', async (t) => {
  const before = process.env.BBOX_SETFATTR;
  process.env.BBOX_SETFATTR = '/nonexistent/setfattr';
  t.teardown(() => {
    if (before === undefined) delete process.env.BBOX_SETFATTR;
    else process.env.BBOX_SETFATTR = before;
  });
  const s = await registryWith(t, [makeLayer(ping), makeLayer(upper)]);
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  t.same(pulled.stats.warnings?.map((w) => w.code), ['XATTR_TOOL_MISSING'], 'one warning for two layers');
  t.match(pulled.stats.warnings?.[0]?.message, /install the attr package/);
  t.same(dumpXattrs(pulled.path), [], 'no attribute on the rootfs');
  const report = await s.cache.verify();
  t.equal(report.entries[0]!.ok, true, 'what was recorded matches the disk');
});

t.test('extraction reads PAX attributes whatever the chunk boundaries', async (t) => {
  const layer = makeLayer(ping, { compression: 'none' });
  const work = await tempDir(t, 'bbox-xattr-chunks-');
  const indexes = [];
  for (const size of [1, 7, 511, 513, layer.tar.length]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < layer.tar.length; i += size) chunks.push(layer.tar.subarray(i, i + size));
    const index = await extractLayer(Readable.from(chunks), { compression: 'none', diffID: layer.diffID, dir: join(work, String(size)), limits: DEFAULT_LIMITS });
    indexes.push(index.entries.map((e) => [e.path, e.xattrs]));
  }
  t.same(indexes[0], [
    ['bin', { 'user.dir': Buffer.from('base').toString('base64') }],
    ['bin/ping', { 'security.capability': CAP_NET_RAW.toString('base64') }],
    ['bin/ping6', undefined],
    ['etc', undefined],
    ['etc/conf', { 'user.a': 'eA==', 'user.bin': BINARY.toString('base64'), 'trusted.t': 'dA==' }],
    ['etc/plain', undefined],
    ['lnk', { 'trusted.sym': 'cw==' }],
  ]);
  for (const other of indexes.slice(1)) t.same(other, indexes[0]);
});

t.test('not as root: only user.* names are kept, and read-only files and directories still get them', async (t) => {
  const work = await tempDir(t, 'bbox-xattr-user-');
  await chown(work, NOBODY, NOBODY);
  const layer = makeLayer([
    { ...dir('ro', { 'user.d': 'dir' }), mode: 0o555 },
    file('ro/f', 'read-only', { 'user.a': 'x', 'trusted.t': 't', 'security.capability': CAP_NET_RAW }, { mode: 0o444 }),
    { path: 'lnk', type: 'symlink', linkname: 'ro/f', mtime: T0, xattrs: { 'trusted.sym': 's' } },
  ]);
  await writeFile(join(work, 'layer.tar.gz'), layer.blob);
  const src = new URL('../../src', import.meta.url).pathname;
  const entry = join(work, 'child-entry.mjs');
  const script = join(work, 'child.mjs');
  await writeFile(
    entry,
    `import { createReadStream } from 'node:fs';
const { extractLayer } = await import(${JSON.stringify(join(src, 'layers/extract.ts'))});
const { composeRootfs } = await import(${JSON.stringify(join(src, 'compose/compose.ts'))});
const { DEFAULT_LIMITS } = await import(${JSON.stringify(join(src, 'layers/limits.ts'))});
const dir = ${JSON.stringify(join(work, 'store'))};
const index = await extractLayer(createReadStream(${JSON.stringify(join(work, 'layer.tar.gz'))}), { compression: 'gzip', diffID: ${JSON.stringify(layer.diffID)}, dir, limits: DEFAULT_LIMITS });
await composeRootfs([{ dir, index }], ${JSON.stringify(join(work, 'rootfs'))});
console.log(JSON.stringify(index.entries.map((e) => [e.path, e.xattrs ?? null])));
`,
  );
  // One self-contained file, so the unprivileged child needs nothing from the checkout, which may
  // sit where that user cannot read (a 0700 home or temporary directory).
  await build({ entryPoints: [entry], outfile: script, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
  // The worker threads load from files beside the module that starts them: beside the bundle here.
  for (const thread of ['layers/store-thread', 'compose/plan-thread']) {
    const out = join(work, `${thread.split('/')[1]!}.js`);
    await build({ entryPoints: [join(src, `${thread}.ts`)], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
    await chmod(out, 0o644);
  }
  await chmod(script, 0o644);
  // `env -u`: the test runner adds its own preload to NODE_OPTIONS of every child, read from the checkout.
  const child = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, script], { uid: NOBODY, gid: NOBODY, cwd: work, encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  t.same(JSON.parse(child.stdout), [
    ['ro', { 'user.d': 'ZGly' }],
    ['ro/f', { 'user.a': 'eA==' }],
    ['lnk', null],
  ], 'trusted.* and security.capability need root; user.* is never set on a symlink');
  t.same(dumpXattrs(join(work, 'rootfs')), ['ro user.d=0x646972', 'ro/f user.a=0x78']);
  t.equal((await lstat(join(work, 'rootfs/ro/f'))).mode & 0o7777, 0o444, 'the file is read-only again');
  t.equal((await lstat(join(work, 'rootfs/ro'))).mode & 0o7777, 0o755, 'the directory keeps the write bit every directory unpacked without root gives its owner');
});

/** Pulls a hostile image into a cache that already holds a good one; the good one must stay intact. */
async function refused(t: Test, entries: TarEntry[], code: string, message: RegExp): Promise<void> {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'test/good', buildImage({ layers: [makeLayer(ping)] }), { tag: 'latest' });
  await pushImage(reg.url, 'test/bad', buildImage({ layers: [makeLayer(entries)] }), { tag: 'latest' });
  const work = await tempDir(t, 'bbox-xattr-bad-');
  const cache = new Cache(join(work, 'cache'));
  const good = await pullWithFetcher(`${reg.host}/test/good:latest`, { cache });
  await t.rejects(pullWithFetcher(`${reg.host}/test/bad:latest`, { cache }), { code, message });
  t.same((await cache.list()).entries.map((e) => e.digest), [good.digest], 'only the good entry is cached');
  t.equal(await cache.lookupRef(`${reg.host}/test/bad:latest`), undefined);
  const report = await cache.verify();
  t.same(report.entries.map((e) => e.ok), [true], 'the good entry still verifies');
}

t.test('a value over the limit is refused and the cache stays intact', async (t) => {
  await refused(t, [file('big', 'x', { 'user.big': Buffer.alloc(70_000, 0x61) })], 'LAYER_XATTR_TOO_LARGE', /extended attributes over the limit/);
});

t.test('malformed names and encodings are refused', async (t) => {
  const cases: Array<[string, TarEntry]> = [
    ['nothing after the namespace', file('f', 'x', { 'user.': 'v' })],
    ['no namespace', file('f', 'x', { plainname: 'v' })],
    ['a space in the name', file('f', 'x', { 'user.a b': 'v' })],
    ['a control byte in the name', file('f', 'x', { 'user.a\u0001': 'v' })],
    ['a name over 255 bytes', file('f', 'x', { [`user.${'n'.repeat(260)}`]: 'v' })],
    ['a libarchive value that is not base64', file('f', 'x', undefined, { pax: { 'LIBARCHIVE.xattr.user.x': '!!not base64!!' } })],
    ['a libarchive name with a broken escape', file('f', 'x', undefined, { pax: { 'LIBARCHIVE.xattr.user.%zz': 'eA' } })],
    ['a PAX record whose length is wrong', file('f', 'x', undefined, { rawPax: [Buffer.concat([Buffer.from('99 SCHILY.xattr.user.x=y\n')])] })],
  ];
  for (const [name, entry] of cases) {
    await t.test(name, (t) => refused(t, [entry], name.includes('255') ? 'LAYER_XATTR_TOO_LARGE' : 'LAYER_XATTR_INVALID', /the layer is refused/));
  }
});

t.test('attributes never reach anything outside the rootfs', async (t) => {
  const work = await tempDir(t, 'bbox-xattr-escape-');
  const victim = join(work, 'victim');
  await mkdir(join(victim, 'sub'), { recursive: true });
  await writeFile(join(victim, 'passwd'), 'host secret\n');
  const s = await registryWith(t, [
    makeLayer([
      { path: 'to-file', type: 'symlink', linkname: join(victim, 'passwd'), xattrs: { 'trusted.evil': 'x', 'user.evil': 'x' } },
      { path: 'to-dir', type: 'symlink', linkname: victim },
      { path: 'up', type: 'symlink', linkname: '../../../../../../../..' },
    ]),
    makeLayer([
      dir('to-dir/sub', { 'user.evil': 'through a symlinked parent' }),
      dir('up/tmp', { 'user.evil': 'climbing' }),
      file('up/passwd', 'p', { 'user.evil': 'climbing' }),
      { path: '../escape', type: 'file', content: 'x', xattrs: { 'user.evil': 'dotdot' } },
    ]),
  ]);
  await t.rejects(pullWithFetcher(s.ref, { cache: s.cache }), { code: 'LAYER_PATH_ESCAPE' }, 'a name climbing out is refused');
  t.same(dumpXattrs(victim), [], 'nothing set on the victim');

  const s2 = await registryWith(t, [
    makeLayer([
      { path: 'to-file', type: 'symlink', linkname: join(victim, 'passwd'), xattrs: { 'trusted.evil': 'x', 'user.evil': 'x' } },
      { path: 'to-dir', type: 'symlink', linkname: victim },
      { path: 'up', type: 'symlink', linkname: '../../../../../../../..' },
    ]),
    makeLayer([dir('to-dir/sub', { 'user.evil': 'through a symlinked parent' }), file('up/passwd', 'p', { 'user.evil': 'climbing' })]),
  ]);
  const pulled = await pullWithFetcher(s2.ref, { cache: s2.cache });
  t.same(dumpXattrs(victim), [], 'nothing set on the victim');
  t.equal(await readFile(join(victim, 'passwd'), 'utf8'), 'host secret\n');
  const inside = dumpXattrs(pulled.path);
  t.same(inside, [
    'passwd user.evil=0x636c696d62696e67',
    `${victim.slice(1)}/sub user.evil=0x${Buffer.from('through a symlinked parent').toString('hex')}`,
    'to-file trusted.evil=0x78',
  ].sort(), 'each attribute lands inside the rootfs (user.* is never set on a symlink)');
  await rm(join(work, 'victim'), { recursive: true });
});

t.test('a PAX record set is built the way tar readers expect', (t) => {
  // Guards the fixture writer the tests above rely on: binary values keep every byte.
  const rec = paxRecord('SCHILY.xattr.user.b', BINARY);
  t.equal(rec.length, Number(rec.toString('latin1').split(' ')[0]));
  t.same(rec.subarray(rec.indexOf(0x3d) + 1, -1), BINARY);
  t.end();
});
