import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildImage, buildIndex, diffTrees, makeLayer, pushImage, snapshotTree, startRegistry } from '@broodbox/testkit';
import { BBOX_BIN, makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

// The image commands (images, inspect, export, cache rm/clone/prune) against a real registry,
// each in text and in --json.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());
const C = ['--cache-dir', sb.cacheDir];
const bbox = (...args: string[]) => sb.run([...args.slice(0, args[0] === 'cache' ? 2 : 1), ...C, ...args.slice(args[0] === 'cache' ? 2 : 1)]);

async function pull(ref: string, ...flags: string[]): Promise<{ digest: string; rootfs: string; indexDigest?: string }> {
  const r = await bbox('pull', '--json', ...flags, ref);
  if (r.code !== 0) throw new Error(`pull ${ref}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { digest: string; rootfs: string; indexDigest?: string };
}

/** An image whose owners, modes, hardlinks and symlinks are not what a host would make. */
function ownedImage() {
  const layer = makeLayer([
    { path: 'srv/', type: 'dir', mode: 0o750, uid: 33, gid: 33, mtime: 1_600_000_000 },
    { path: 'srv/data', type: 'file', mode: 0o640, uid: 1000, gid: 1001, content: 'data\n', mtime: 1_600_000_100 },
    { path: 'srv/same', type: 'hardlink', linkname: 'srv/data', mode: 0o640, uid: 1000, gid: 1001 },
    { path: 'usr/', type: 'dir' },
    { path: 'usr/bin/', type: 'dir', mode: 0o755 },
    { path: 'usr/bin/su', type: 'file', mode: 0o4755, uid: 0, gid: 0, content: '#!/bin/sh\n', mtime: 1_600_000_200 },
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd-link', type: 'symlink', linkname: '/etc/passwd', uid: 7, gid: 7 },
    { path: 'etc/up', type: 'symlink', linkname: '../../../../tmp' },
    { path: `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/file`, type: 'file', content: 'long path\n', uid: 70000, gid: 70001 },
  ]);
  return buildImage({ layers: [layer], config: { Cmd: ['/bin/sh'], User: '1000:1001', WorkingDir: '/srv', ExposedPorts: { '8080/tcp': {} }, Labels: { a: 'b' } } });
}

t.test('images lists one row per ref; --json has full digests; filters for repositories and orphans', async (t) => {
  const v1 = await push(reg, 'imgs/app', 'v1', appImage('1'));
  await push(reg, 'imgs/app', 'v1-again', appImage('1'));
  const other = await push(reg, 'imgs/other', 'latest', appImage('other'));
  await pull(`${reg.host}/imgs/app:v1`);
  await pull(`${reg.host}/imgs/app:v1-again`);
  await pull(`${reg.host}/imgs/other:latest`);

  const text = await bbox('images');
  t.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.match(lines[0], /^REPOSITORY +TAG +DIGEST +CREATED +SIZE +LAST USED$/);
  t.ok(lines.some((l) => l.startsWith(`${reg.host}/imgs/app `) && l.includes(' v1 ') && l.includes(v1.slice(7, 19))), 'the v1 row with its short digest');
  t.ok(lines.some((l) => l.includes(' v1-again ')), 'a second tag of the same image is its own row');

  const json = await bbox('images', '--json');
  const rows = (JSON.parse(json.stdout) as { images: Array<{ repository: string; tag: string; digest: string; size: number; lastUsed: string }> }).images;
  t.same(rows.map((r) => `${r.repository.replace(reg.host, 'R')}:${r.tag}`), ['R/imgs/app:v1', 'R/imgs/app:v1-again', 'R/imgs/other:latest']);
  t.equal(rows[0]!.digest, v1);
  t.ok(rows.every((r) => r.size > 0 && !Number.isNaN(Date.parse(r.lastUsed))), 'sizes and last use are given');

  const only = await bbox('images', '--json', `${reg.host}/imgs/other`);
  t.same((JSON.parse(only.stdout) as { images: Array<{ digest: string }> }).images.map((r) => r.digest), [other], 'a repository filter');
  const glob = await bbox('images', '--json', `${reg.host}/imgs/*`);
  t.equal((JSON.parse(glob.stdout) as { images: unknown[] }).images.length, 3, 'a * pattern');
  const orphans = await bbox('images', '--orphans');
  t.match(orphans.stdout, /^No orphan entries in /, 'no orphans yet');
});

t.test('inspect: cached (text, json, digest prefix) and --remote without pulling', async (t) => {
  const img = ownedImage();
  const pushed = await pushImage(reg.url, 'imgs/owned', img, { tag: 'v1' });
  const ref = `${reg.host}/imgs/owned:v1`;

  const remote = await bbox('inspect', '--remote', '--json', ref);
  t.equal(remote.code, 0, remote.stderr);
  const r = JSON.parse(remote.stdout) as { digest: string; cached?: unknown; config: { exposedPorts: string[]; user: string }; layers: Array<{ digest: string; unpackedSize?: number }> };
  t.equal(r.digest, pushed.digest);
  t.notOk(r.cached, 'not cached');
  t.same(r.config.exposedPorts, ['8080/tcp']);
  t.equal(r.layers[0]!.unpackedSize, undefined, 'unpacked size unknown before a pull');
  const notCached = await bbox('inspect', ref);
  t.equal(notCached.code, 3, 'inspect without --remote reads only the cache');
  t.match(notCached.stderr, /no cached image answers to/);

  const pulled = await pull(ref);
  const byPrefix = await bbox('inspect', '--json', pulled.digest.slice(7, 21));
  t.equal(byPrefix.code, 0, byPrefix.stderr);
  const c = JSON.parse(byPrefix.stdout) as { digest: string; platform: string; config: { cmd: string[]; user: string; workdir: string; labels: Record<string, string> }; layers: Array<{ mediaType: string; size: number; unpackedSize: number }>; cached: { rootfs: string } };
  t.equal(c.digest, pulled.digest);
  t.equal(c.platform, 'linux/amd64');
  t.same(c.config.cmd, ['/bin/sh']);
  t.equal(c.config.user, '1000:1001');
  t.equal(c.config.workdir, '/srv');
  t.same(c.config.labels, { a: 'b' });
  t.equal(c.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.ok(c.layers[0]!.size > 0 && c.layers[0]!.unpackedSize > 0, 'compressed and unpacked sizes');
  t.equal(c.cached.rootfs, pulled.rootfs);

  const text = await bbox('inspect', ref);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^Ref +${ref.replace(/[.]/g, '\\.')}$`, 'm'));
  t.match(text.stdout, new RegExp(`^Digest +${pulled.digest}$`, 'm'));
  t.match(text.stdout, /^ {2}Ports +8080\/tcp$/m);
  t.match(text.stdout, /^Rootfs +\/.*\/rootfs \(/m);
});

t.test('inspect and pull show the index digest of a multi-platform image', async (t) => {
  const amd = appImage('multi-amd64');
  const arm = buildImage({ layers: [makeLayer([{ path: 'arm', type: 'file', content: 'arm' }])], platform: { os: 'linux', architecture: 'arm64' } });
  const index = buildIndex([amd, arm]);
  await pushImage(reg.url, 'imgs/multi', index, { tag: 'v1' });
  const ref = `${reg.host}/imgs/multi:v1`;
  const pulled = await pull(ref, '--platform', 'linux/amd64');
  t.equal(pulled.indexDigest, index.digest, 'pull --json carries indexDigest');
  t.equal(pulled.digest, amd.digest);
  const text = await bbox('pull', '--platform', 'linux/amd64', ref);
  t.match(text.stdout, new RegExp(`^  index   ${index.digest}$`, 'm'), 'and the text output');
  const ins = JSON.parse((await bbox('inspect', '--json', '--platform', 'linux/amd64', index.digest.slice(0, 20))).stdout) as { digest: string; indexDigest: string };
  t.same(ins, { ...ins, digest: amd.digest, indexDigest: index.digest }, 'an index digest prefix finds the platform entry');
});

t.test('export | tar -x gives the rootfs tree, owners and modes included', async (t) => {
  const ref = `${reg.host}/imgs/owned:v1`;
  const { rootfs } = await pull(ref);
  const out = join(sb.root, 'extracted');
  await mkdir(out);
  const exporter = spawn(process.execPath, [BBOX_BIN, 'export', ...C, ref], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tar = spawn('tar', ['-x', '-C', out, '--same-owner', '-p', '--numeric-owner', '--xattrs'], { stdio: ['pipe', 'ignore', 'pipe'] });
  exporter.stdout.pipe(tar.stdin);
  let err = '';
  exporter.stderr.on('data', (d: Buffer) => (err += d.toString()));
  tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [[exportCode], [tarCode]] = await Promise.all([once(exporter, 'close'), once(tar, 'close')]);
  t.equal(exportCode, 0, err);
  t.equal(tarCode, 0, err);
  const withoutRoot = (entries: Awaited<ReturnType<typeof snapshotTree>>) => entries.filter((e) => e.path !== '.');
  const [a, b] = await Promise.all([snapshotTree(rootfs), snapshotTree(out)]);
  t.same(diffTrees(withoutRoot(a), withoutRoot(b)), [], 'same paths, types, modes, owners, mtimes, contents, link targets and hardlinks');
  const su = b.find((e) => e.path === 'usr/bin/su')!;
  t.equal(su.mode, 0o4755, 'setuid kept');
  const data = b.find((e) => e.path === 'srv/data')!;
  t.same([data.uid, data.gid], [1000, 1001], "the image's owners");
  t.equal(b.find((e) => e.path === 'srv/same')?.hardlinkGroup, 'srv/data', 'a hardlink stays a hardlink');
  t.equal(b.find((e) => e.path === 'etc/up')?.linkTarget, '../../../../tmp', 'a symlink is archived, not followed');

  const file = join(sb.root, 'owned.tar');
  const toFile = await bbox('export', '--json', '-o', file, ref);
  t.equal(toFile.code, 0, toFile.stderr);
  const summary = JSON.parse(toFile.stdout) as { file: string; bytes: number };
  t.equal(summary.bytes, (await readFile(file)).length, 'the file holds what was reported');
  const missing = await bbox('export', `${reg.host}/imgs/never-pulled:v1`);
  t.equal(missing.code, 3, 'an image that is not cached');
});

t.test('cache clone makes a writable copy, text and --json', async (t) => {
  const ref = `${reg.host}/imgs/app:v1`;
  const dest = join(sb.root, 'clone1');
  const text = await bbox('cache', 'clone', ref, dest);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^Cloned ${ref.replace(/[.]/g, '\\.')} into ${dest}`));
  t.equal(await readFile(join(dest, 'etc/version'), 'utf8'), '1\n');
  const json = await bbox('cache', 'clone', '--json', ref, join(sb.root, 'clone2'));
  const o = JSON.parse(json.stdout) as { path: string; method: string; digest: string };
  t.equal(o.path, join(sb.root, 'clone2'));
  t.ok(['reflink', 'copy'].includes(o.method));
  const again = await bbox('cache', 'clone', ref, dest);
  t.equal(again.code, 2, 'a non-empty destination is refused');
});

t.test('digest prefixes: too short is refused, an ambiguous one lists the candidates', async (t) => {
  const json = JSON.parse((await bbox('images', '--json')).stdout) as { images: Array<{ digest: string }> };
  const real = json.images[0]!.digest;
  const short = await bbox('inspect', real.slice(7, 15) + 'zz');
  t.not(short.code, 0);
  // A second entry directory sharing the first 12 hex digits (what the cache lists by).
  const twin = `sha256:${real.slice(7, 19)}${'0'.repeat(52)}`;
  await mkdir(join(sb.cacheDir, 'images', twin.replace(':', '-')));
  t.teardown(async () => (await import('node:fs/promises')).rm(join(sb.cacheDir, 'images', twin.replace(':', '-')), { recursive: true, force: true }));
  const amb = await bbox('inspect', real.slice(7, 19));
  t.equal(amb.code, 2);
  t.match(amb.stderr, /ambiguous/);
  t.ok(amb.stderr.includes(real) && amb.stderr.includes(twin), 'both candidates are listed');
  const longer = await bbox('inspect', '--json', real.slice(7, 25));
  t.equal(longer.code, 0, 'more digits settle it');
});

t.test('cache rm / rmi: untag, shared entries, --force, the held-entry refusal, --json', async (t) => {
  const digest = await push(reg, 'rm/app', 'a', appImage('rm'));
  await push(reg, 'rm/app', 'b', appImage('rm'));
  await pull(`${reg.host}/rm/app:a`);
  const { rootfs } = await pull(`${reg.host}/rm/app:b`);

  const shared = await bbox('rmi', digest.slice(7, 19));
  t.equal(shared.code, 2, 'a digest two refs point at is refused without --force');
  t.match(shared.stderr, /referred to by 2 refs/);

  const untag = await bbox('rmi', `${reg.host}/rm/app:a`);
  t.equal(untag.code, 0, untag.stderr);
  t.match(untag.stdout, /^Untagged: .*rm\/app:a/m);
  t.match(untag.stdout, /^Kept image [0-9a-f]{12}: other references still point to it$/m);
  t.ok((await readdir(rootfs)).length > 0, 'the entry stays for the other ref');

  // Another process holds the entry, as a running VM does.
  const cliDir = fileURLToPath(new URL('..', import.meta.url));
  const holder = spawn(
    process.execPath,
    ['--input-type=module', '-e', `const { Cache } = await import('@broodbox/image'); await new Cache(${JSON.stringify(sb.cacheDir)}).hold(${JSON.stringify(digest)}); console.log('held'); process.stdin.resume();`],
    { cwd: cliDir, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => holder.kill());
  await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
  const held = await bbox('cache', 'rm', '--json', `${reg.host}/rm/app:b`);
  t.equal(held.code, 1, 'refused while held');
  t.match(held.stderr, new RegExp(`in use by pid ${holder.pid} \\(.*node`), 'the message names the holder');
  const heldJson = JSON.parse(held.stdout) as { error: { code: string } };
  t.equal(heldJson.error.code, 'ENTRY_HELD');
  t.ok((await bbox('images', '--json')).stdout.includes('rm/app'), 'nothing was removed');
  holder.kill();
  await once(holder, 'close');

  const dry = await bbox('cache', 'rm', '--dry-run', '--json', `${reg.host}/rm/app:b`);
  t.equal((JSON.parse(dry.stdout) as { dryRun: boolean }).dryRun, true);
  t.ok((await readdir(rootfs)).length > 0, 'a dry run removes nothing');
  const gone = await bbox('cache', 'rm', '--json', `${reg.host}/rm/app:b`);
  t.equal(gone.code, 0, gone.stderr);
  const report = JSON.parse(gone.stdout) as { removed: Array<{ kind: string; id: string }>; bytesFreed: number };
  t.ok(report.removed.some((r) => r.kind === 'entry' && r.id === digest), 'the entry went with its last ref');
  t.ok(report.removed.some((r) => r.kind === 'layer'), 'and layers nothing else needs');
  t.ok(report.bytesFreed > 0);
  const again = await bbox('rmi', `${reg.host}/rm/app:b`);
  t.equal(again.code, 3, 'no such image');

  // --force: every ref of a digest.
  await pull(`${reg.host}/rm/app:a`);
  await pull(`${reg.host}/rm/app:b`);
  const forced = await bbox('rmi', '--force', digest);
  t.equal(forced.code, 0, forced.stderr);
  t.equal((forced.stdout.match(/^Untagged:/gm) ?? []).length, 2, 'both refs');
  t.match(forced.stdout, /^Removed image /m);
});

t.test('cache prune: --dry-run changes nothing, then removes by age', async (t) => {
  await pull(`${reg.host}/imgs/other:latest`);
  const before = await snapshotTree(sb.cacheDir);
  const dry = await bbox('cache', 'prune', '--older-than', '0s', '--dry-run', '--json');
  t.equal(dry.code, 0, dry.stderr);
  const planned = JSON.parse(dry.stdout) as { dryRun: boolean; removed: Array<{ kind: string }> };
  t.ok(planned.removed.some((r) => r.kind === 'entry'), 'it would remove entries');
  t.same(diffTrees(before, await snapshotTree(sb.cacheDir)), [], 'the cache is unchanged, byte for byte');
  const text = await bbox('cache', 'prune', '--max-size', '1');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^Removed \d+ images?, freed /m);
  t.same((JSON.parse((await bbox('images', '--json')).stdout) as { images: unknown[] }).images, [], 'nothing left');
  const none = await bbox('cache', 'prune');
  t.equal(none.code, 2, 'prune needs a limit');
  const bad = await bbox('cache', 'prune', '--max-size', 'lots');
  t.equal(bad.code, 2);
});
