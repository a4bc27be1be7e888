/**
 * Finding the guest kernel and its modules: given explicitly, taken from a kernel image's rootfs,
 * or discovered among Debian cloud kernels (unpacked by scripts/fetch-kernel.sh, or installed).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KernelNotFoundError } from '../errors.js';
import { defaultKernelDirs } from '../host/paths.js';
import { resolveInRoot } from '../spec/rootfs-read.js';

/** How to choose the kernel; the first option given wins, else discovery. */
export interface KernelOptions {
  /** Path of a kernel image (bzImage/vmlinuz). */
  kernel?: string;
  /** Its modules directory (`.../lib/modules/<version>`); guessed next to the kernel when omitted. */
  modules?: string;
  /** Rootfs directory of an image that holds `/boot/vmlinuz-*` and `/lib/modules/*` (the caller pulls it). */
  kernelImage?: string;
  /** Directories searched for unpacked kernels (default: `$BBOX_KERNEL_DIR`, `$XDG_CACHE_HOME/broodbox/kernel`). */
  kernelDirs?: string[];
  /** Also look at the host's `/boot/vmlinuz-*-cloud-amd64` (default true). */
  searchHost?: boolean;
}

/** A kernel and where its modules are. */
export interface KernelFiles {
  kernel: string;
  /** Undefined when the kernel has no modules directory (everything needed must be built in). */
  modulesDir?: string;
  /** Kernel release (`6.1.0-56-cloud-amd64`), from the file name when it has one. */
  version: string;
  /** Module files must resolve inside this directory (set for kernels from an image). */
  confinedTo?: string;
}

const VMLINUZ = /^vmlinuz-(.+)$/;

/** Finds a kernel as `opts` say; throws KernelNotFoundError saying how to get one. */
export async function findKernel(opts: KernelOptions = {}): Promise<KernelFiles> {
  if (opts.kernel) return explicitKernel(opts.kernel, opts.modules);
  if (opts.kernelImage) {
    const found = await kernelInRoot(opts.kernelImage, true);
    if (!found) throw new KernelNotFoundError(`the kernel image at ${opts.kernelImage} holds no /boot/vmlinuz-*`, [opts.kernelImage]);
    return { ...found, confinedTo: await realpath(opts.kernelImage) };
  }
  const searched: string[] = [];
  for (const dir of opts.kernelDirs ?? defaultKernelDirs()) {
    searched.push(dir);
    const found = await newestKernelUnder(dir);
    if (found) return found;
  }
  if (opts.searchHost ?? true) {
    searched.push('/boot/vmlinuz-*-cloud-amd64');
    const found = await kernelInRoot('/', false, (v) => v.endsWith('-cloud-amd64'));
    if (found) return found;
  }
  throw new KernelNotFoundError('none given and none found', searched);
}

/** sha256 of the kernel file, the key of everything built for it. */
export async function kernelDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function explicitKernel(kernel: string, modules: string | undefined): Promise<KernelFiles> {
  const st = await stat(kernel).catch(() => undefined);
  if (!st?.isFile()) throw new KernelNotFoundError(`vm.kernel ${kernel} is not a readable file`, [kernel]);
  const version = VMLINUZ.exec(basename(kernel))?.[1] ?? basename(kernel);
  if (modules) {
    if (!(await isDir(modules))) throw new KernelNotFoundError(`vm.modules ${modules} is not a directory`, [modules]);
    return { kernel, modulesDir: modules, version };
  }
  // An unpacked package keeps boot/ and lib/modules/ side by side.
  const root = dirname(dirname(kernel));
  const guess = [join(root, 'lib/modules', version), join(root, 'usr/lib/modules', version), join('/lib/modules', version)];
  for (const dir of guess) if (await isDir(dir)) return { kernel, modulesDir: dir, version };
  return { kernel, version };
}

/** The newest kernel in `dir` itself or in one of its subdirectories (one per unpacked package). */
async function newestKernelUnder(dir: string): Promise<KernelFiles | undefined> {
  const subdirs = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: KernelFiles[] = [];
  const own = await kernelInRoot(dir, false);
  if (own) found.push(own);
  for (const d of subdirs) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue;
    const k = await kernelInRoot(join(dir, d.name), false);
    if (k) found.push(k);
  }
  return found.sort((a, b) => compareVersions(b.version, a.version))[0];
}

/** The newest `boot/vmlinuz-*` under `root` and its `lib/modules/<version>`. */
async function kernelInRoot(root: string, confined: boolean, accept: (v: string) => boolean = () => true): Promise<KernelFiles | undefined> {
  const boot = confined ? await resolveInRoot(root, '/boot') : join(root, 'boot');
  if (!boot) return undefined;
  const names = await readdir(boot).catch(() => [] as string[]);
  const versions = names.flatMap((n) => VMLINUZ.exec(n)?.[1] ?? []).filter(accept).sort(compareVersions).reverse();
  for (const version of versions) {
    const kernel = confined ? await resolveInRoot(root, `/boot/vmlinuz-${version}`) : join(boot, `vmlinuz-${version}`);
    if (!kernel || !(await stat(kernel).then((s) => s.isFile(), () => false))) continue;
    for (const rel of [`/lib/modules/${version}`, `/usr/lib/modules/${version}`]) {
      const dir = confined ? await resolveInRoot(root, rel) : join(root, rel);
      if (dir && (await isDir(dir))) return { kernel, modulesDir: dir, version };
    }
    return { kernel, version };
  }
  return undefined;
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}
