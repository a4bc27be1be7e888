// Test setup shared by the VM tests: a real Debian cloud kernel (fetched once with
// scripts/fetch-kernel.sh into a stable cache directory) and a small busybox rootfs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const repo = new URL('../../..', import.meta.url).pathname;

/** Directory holding unpacked kernels, filled on first use (idempotent). */
export function kernelDir(): string {
  const dir = process.env.BBOX_KERNEL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'broodbox', 'kernel');
  execFileSync('bash', [join(repo, 'scripts/fetch-kernel.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

/** A minimal image root: busybox, a few applet links, a user `app` (1000:1000) and a group `staff` (50). */
export function makeBusyboxRootfs(root: string): string {
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app', 'srv']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  for (const a of ['sh', 'ls', 'cat', 'echo', 'id', 'pwd', 'env', 'touch', 'sleep', 'rm', 'nc', 'printf', 'true', 'mount', 'mkdir', 'grep', 'dd', 'wc']) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  writeFileSync(join(root, 'srv/data.txt'), 'original\n');
  return root;
}

/**
 * A Debian-like root built from the host's own glibc programs (bash, GNU coreutils and their
 * shared libraries) in the merged-/usr layout: dynamic linking, and GNU tools that busybox must
 * not shadow.
 */
export function makeGlibcRootfs(root: string): string {
  for (const d of ['usr/bin', 'usr/lib/x86_64-linux-gnu', 'usr/lib64', 'etc', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
  for (const l of ['bin', 'lib', 'lib64']) symlinkSync(`usr/${l}`, join(root, l));
  const programs = ['/usr/bin/bash', '/usr/bin/ls', '/usr/bin/id', '/usr/bin/cat'];
  const libs = execFileSync('ldd', programs, { encoding: 'utf8' }).match(/\/[^\s:]+\.so[^\s:]*/g) ?? [];
  for (const f of [...programs, ...new Set(libs)]) {
    const dest = join(root, f.replace(/^\/(lib|lib64)\//, '/usr/$1/'));
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(f), dest);
  }
  symlinkSync('bash', join(root, 'usr/bin/sh'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  return root;
}
