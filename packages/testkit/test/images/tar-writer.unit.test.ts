import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { tempDir, writeTar, type TarEntry } from '../../src/index.js';

const run = promisify(execFile);

async function gnuList(t: Test, archive: Buffer, extra: string[] = []): Promise<{ stdout: string; stderr: string }> {
  const dir = await tempDir(t);
  const file = join(dir, 'a.tar');
  await writeFile(file, archive);
  return run('tar', [...extra, '-tvf', file]).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr || 'failed' }));
}

function parse(archive: Buffer): Promise<Array<{ path: string; type: string; linkpath?: string; size: number; uid?: number; mode?: number }>> {
  return new Promise((resolve, reject) => {
    const seen: Array<{ path: string; type: string; linkpath?: string; size: number; uid?: number; mode?: number }> = [];
    const p = new Parser({
      onReadEntry: (e: ReadEntry) => {
        seen.push({ path: e.path, type: e.type, linkpath: e.linkpath, size: e.size, uid: e.uid, mode: e.mode });
        e.resume();
      },
    });
    p.on('end', () => resolve(seen));
    p.on('error', reject);
    p.on('warn', (code: string, msg: string) => reject(new Error(`${code}: ${msg}`)));
    p.end(archive);
  });
}

const longPath = 'deep/' + 'segment-name/'.repeat(12) + 'file.txt';
const entries: TarEntry[] = [
  { path: 'etc/', type: 'dir', mode: 0o750 },
  { path: 'etc/hello', type: 'file', content: 'hi\n', mode: 0o4755, uid: 1000, gid: 100, uname: 'alice', gname: 'users', mtime: 1_700_000_000 },
  { path: 'etc/sym', type: 'symlink', linkname: '../etc/hello' },
  { path: 'etc/hard', type: 'hardlink', linkname: 'etc/hello' },
  { path: longPath, type: 'file', content: 'long' },
  { path: 'café/naïve', type: 'file', content: 'x' },
  { path: 'longlink', type: 'symlink', linkname: 'target/'.repeat(20) + 'end' },
  { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
  { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
  { path: 'run/fifo', type: 'fifo' },
  { path: 'bigid', type: 'file', uid: 3_000_000_000, gid: 5 },
];

t.test('GNU tar lists every entry type with its metadata', async (t) => {
  const { stdout, stderr } = await gnuList(t, writeTar(entries));
  t.equal(stderr, '', 'no warnings (checksums and headers valid)');
  const lines = stdout.trim().split('\n');
  t.equal(lines.length, entries.length);
  t.match(lines[0], /^drwxr-x--- 0\/0 +0 .* etc\/$/);
  t.match(lines[1], /^-rwsr-xr-x alice\/users +3 2023-11-14 .* etc\/hello$/);
  t.match(lines[2], /^lrwxrwxrwx .* etc\/sym -> \.\.\/etc\/hello$/);
  t.match(lines[3], /^hrw-r--r-- .* etc\/hard link to etc\/hello$/);
  t.match(lines[4], new RegExp(` ${longPath}$`));
  t.match(lines[5], / café\/naïve$/);
  t.match(lines[6], new RegExp(` longlink -> ${'target/'.repeat(20)}end$`));
  t.match(lines[7], /^crw-r--r-- .* 1,3 .* dev\/null$/);
  t.match(lines[8], /^brw-r--r-- .* 8,0 .* dev\/sda$/);
  t.match(lines[9], /^prw-r--r-- .* run\/fifo$/);
  t.match(lines[10], /^-rw-r--r-- 3000000000\/5 /);
});

t.test('xattrs travel as PAX SCHILY.xattr records', async (t) => {
  const archive = writeTar([{ path: 'f', type: 'file', content: 'x', xattrs: { 'user.color': 'blue', 'security.capability': 'caps' } }]);
  const { stdout } = await gnuList(t, archive, ['--xattrs', '--xattrs-include=*', '-v', '-v']);
  t.match(stdout, /x: 4 user\.color/);
  t.match(stdout, /x: 4 security\.capability/);
});

t.test('hostile paths and links are written verbatim', async (t) => {
  const archive = writeTar([
    { path: '../../escape', type: 'file', content: 'evil' },
    { path: '/etc/passwd', type: 'file', content: 'root::0:0' },
    { path: 'link', type: 'symlink', linkname: '/etc/shadow' },
    { path: 'dup', type: 'file', content: 'one' },
    { path: 'dup', type: 'file', content: 'two' },
  ]);
  const seen = await parse(archive);
  t.same(
    seen.map((e) => [e.path, e.type, e.linkpath ?? '']),
    [
      ['../../escape', 'File', ''],
      ['/etc/passwd', 'File', ''],
      ['link', 'SymbolicLink', '/etc/shadow'],
      ['dup', 'File', ''],
      ['dup', 'File', ''],
    ],
  );
});

t.test('sizeOverride writes a header size that differs from the body', async (t) => {
  const archive = writeTar([{ path: 'huge', type: 'file', content: 'short', sizeOverride: 10 * 1024 * 1024 }]);
  t.equal(archive.length, 512 + 512 + 1024, 'only the real body is written');
  const { stdout, stderr } = await gnuList(t, archive);
  t.match(stdout, / 10485760 .* huge/, 'GNU tar reads the declared size');
  t.match(stderr, /Unexpected EOF|not recoverable/, 'and then finds the archive truncated');
  const beyondOctal = writeTar([{ path: 'absurd', type: 'file', sizeOverride: 2 ** 40 }]);
  t.match(beyondOctal.subarray(512, 1024).toString('utf8'), /size=1099511627776\n/, 'sizes beyond 8 GiB go to a PAX record');
});

t.test('a raw typeflag and a missing end marker can be forced', async (t) => {
  const archive = writeTar([{ path: 'odd', type: 'file', typeflag: 'Z' }], { omitEndBlocks: true });
  t.equal(archive.length, 512);
  t.equal(String.fromCharCode(archive[156] ?? 0), 'Z');
});
