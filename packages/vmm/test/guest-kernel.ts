// Test setup shared by the VM tests: a real Debian cloud kernel (fetched once with
// scripts/fetch-kernel.sh into a stable cache directory) and a small busybox rootfs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname;

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
  for (const a of ['sh', 'ls', 'cat', 'echo', 'id', 'pwd', 'env', 'touch', 'sleep', 'rm']) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  writeFileSync(join(root, 'srv/data.txt'), 'original\n');
  return root;
}
