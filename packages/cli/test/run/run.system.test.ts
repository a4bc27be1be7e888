import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, makeLayer, pushImage, startRegistry } from '@broodbox/testkit';
import { BBOX_BIN, makeSandbox } from '../bbox-process.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));

/** A Debian cloud kernel unpacked once into a shared directory by the repository's script. */
function kernelDir(): string {
  const dir = process.env.BBOX_KERNEL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'broodbox', 'kernel');
  execFileSync('bash', [join(repo, 'scripts/fetch-kernel.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

t.test('bbox run boots the image: output, environment, the guest exit code, the timeout', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const layer = makeLayer([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync('/bin/busybox') },
    ...['sh', 'echo', 'sleep'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: 'tmp/', type: 'dir' },
  ]);
  await pushImage(reg.url, 'cli/busybox', buildImage({ layers: [layer], config: { Cmd: ['echo', 'default command'], Env: ['FROM_IMAGE=1'] } }), { tag: '1' });
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const env = { BBOX_KERNEL_DIR: kernelDir() };
  const ref = `${reg.host}/cli/busybox:1`;
  const run = (args: string[]) => sb.run(['run', '--cache-dir', sb.cacheDir, '--accel', 'tcg', ...args], { env });

  const dflt = await run([ref]);
  t.equal(dflt.code, 0, dflt.stderr);
  t.equal(dflt.stdout, 'default command\n', "the image's command ran");

  const seven = await run(['-e', 'GREETING=hi', ref, '--', 'sh', '-c', 'echo "$GREETING $FROM_IMAGE"; exit 7']);
  t.equal(seven.stdout, 'hi 1\n', 'environment from the flag and from the image');
  t.equal(seven.code, 7, "the guest command's exit code is bbox's");

  const typo = await run([ref, '--', 'no-such-command']);
  t.equal(typo.code, 127, 'a command in no PATH directory exits 127');
  t.match(typo.stderr, /^bbox: no-such-command: not found in PATH \(/);

  const slow = await run(['--timeout', '2', ref, '--', 'sleep', '60']);
  t.equal(slow.code, 124, 'the timeout stops the VM with exit 124');
  t.match(slow.stderr, /^bbox: .*timeout/);

  // A pull that could not apply extended attributes says so, as `bbox pull` does, and the VM still runs.
  const marked = makeLayer([{ path: 'etc/marked', type: 'file', content: 'x\n', xattrs: { 'user.origin': 'image' } }]);
  await pushImage(reg.url, 'cli/busybox-xattr', buildImage({ layers: [layer, marked] }), { tag: '1' });
  const noTool = await sb.run(['run', '--cache-dir', sb.cacheDir, '--accel', 'tcg', `${reg.host}/cli/busybox-xattr:1`, '--', 'echo', 'ran'], {
    env: { ...env, BBOX_SETFATTR: join(sb.root, 'no-such-setfattr') },
  });
  t.equal(noTool.code, 0, noTool.stderr);
  t.equal(noTool.stdout, 'ran\n');
  t.match(noTool.stderr, /^bbox: warning: .*setfattr is not installed/, 'the pull warning is printed');
});

t.test('on a terminal, bbox run shows the pull, and the root disk build where the root is a disk, before the command output', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const layer = makeLayer([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync('/bin/busybox') },
    { path: 'bin/echo', type: 'symlink', linkname: 'busybox' },
  ]);
  await pushImage(reg.url, 'cli/progress', buildImage({ layers: [layer] }), { tag: '1' });
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const ref = `${reg.host}/cli/progress:1`;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BBOX_BIN, 'run', '--cache-dir', sb.cacheDir, '--accel', 'tcg', ref, '--', 'echo', 'ran'].map(quote).join(' ');
  // script(1) gives bbox a real pseudo-terminal on stdout and stderr.
  const onTerminal = (env: Record<string, string> = {}) =>
    execFileSync('script', ['-qfec', command, '/dev/null'], { env: { ...sb.env, BBOX_KERNEL_DIR: kernelDir(), TERM: 'xterm', ...env }, cwd: sb.root, encoding: 'utf8' });
  const first = onTerminal();
  t.match(first, /\b[0-9a-f]{12} {2}\[[#.]+\]/, 'a progress line per layer: its short digest and a bar');
  t.match(first, /\bran\r?\n/);
  t.notMatch(first, /building the root disk/, 'a shared root needs no disk');
  // Where the root is a disk, its build (seconds, once per image) is announced.
  const disk = onTerminal({ BBOX_VM_ROOT: 'disk' });
  t.match(disk, /building the root disk[^]*\bran\r?\n/, 'the disk build is announced before the output');
  const second = onTerminal({ BBOX_VM_ROOT: 'disk' });
  t.notMatch(second, /building the root disk/, 'a second run finds the disk built');
  t.match(second, /\bran\r?\n/);
});
