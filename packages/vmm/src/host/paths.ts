/** Where the VM layer keeps its own files by default. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/broodbox` (default `~/.cache/broodbox`). */
export function broodboxCacheHome(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'broodbox');
}

/** Default directory for initramfs images and the accelerator probe result. */
export function defaultVmCacheDir(): string {
  return join(broodboxCacheHome(), 'vm');
}

/** Directories searched for unpacked kernels: `$BBOX_KERNEL_DIR`, then `$XDG_CACHE_HOME/broodbox/kernel`. */
export function defaultKernelDirs(): string[] {
  const dirs = [];
  if (process.env.BBOX_KERNEL_DIR) dirs.push(process.env.BBOX_KERNEL_DIR);
  dirs.push(join(broodboxCacheHome(), 'kernel'));
  return dirs;
}
