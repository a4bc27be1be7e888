/**
 * The initramfs: busybox-static, the kernel modules the guest needs and /init, built once per kernel
 * (keyed by the digests of everything in it) and cached. Each VM appends a tiny second archive
 * holding its own /bbox/spec (the kernel unpacks concatenated archives in order).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { buildCpio, type CpioEntry } from './cpio.js';
import { HostToolError, KernelModuleError } from '../errors.js';
import { DEV_EXTRA, GUEST_FSTABS, INIT_SCRIPT, INIT_VERSION, specScript, type GuestOptions } from './guest-init.js';
import { kernelDigest, type KernelFiles } from './kernel.js';
import { moduleName, readModuleElf, resolveModules, type KernelModule } from './modules.js';
import type { VmSpec } from '../spec/spec.js';

/** Drivers the guest always needs: the virtio-mmio transport and the serial channels. */
export const BASE_MODULES = ['virtio_mmio', 'virtio_console'];
/** Drivers of a root disk: the block device and ext4. */
export const DISK_MODULES = ['virtio_blk', 'ext4'];
/** Drivers of a root shared over virtio-fs, beside {@link FS_MODULES}: the overlay over it. */
export const OVERLAY_MODULES = ['overlay'];
/** Drivers loaded only for `network: true`. */
export const NET_MODULES = ['virtio_net'];
/** Drivers loaded only when host directories are shared. */
export const FS_MODULES = ['virtiofs'];

export interface InitramfsOptions {
  kernel: KernelFiles;
  /** Directory of the cached images (an `initramfs/` subdirectory is used). */
  cacheDir: string;
  /** busybox binary; must be statically linked (Debian busybox-static). Default /bin/busybox. */
  busybox?: string;
}

/** A cached initramfs. */
export interface Initramfs {
  path: string;
  /** sha256 of the kernel file. */
  kernelDigest: string;
}

const memo = new Map<string, Promise<Initramfs>>();

/** Returns the cached initramfs for this kernel, building it when missing. */
export function ensureInitramfs(opts: InitramfsOptions): Promise<Initramfs> {
  const memoKey = `${opts.kernel.kernel}\0${opts.kernel.modulesDir ?? ''}\0${opts.busybox ?? ''}\0${opts.cacheDir}`;
  let p = memo.get(memoKey);
  if (!p) {
    p = buildOrReuse(opts);
    memo.set(memoKey, p);
    p.catch(() => memo.delete(memoKey));
  }
  return p;
}

async function buildOrReuse(opts: InitramfsOptions): Promise<Initramfs> {
  // Hashing the kernel, busybox and modules on every run costs more than the rest of the host
  // side; a stat fingerprint of the inputs points at the archive built from them last time.
  const dir = join(opts.cacheDir, 'initramfs');
  const fingerprint = join(dir, `stat-${await statFingerprint(opts)}.json`);
  const known = await readFile(fingerprint, 'utf8').then((t) => JSON.parse(t) as Initramfs, () => undefined);
  if (known && (await stat(known.path).then((st) => st.isFile(), () => false))) return known;
  const built = await buildIfMissing(opts, dir);
  const tmp = `${fingerprint}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, JSON.stringify(built));
  await rename(tmp, fingerprint);
  return built;
}

async function statFingerprint(opts: InitramfsOptions): Promise<string> {
  const files = [opts.kernel.kernel, opts.busybox ?? '/bin/busybox'];
  if (opts.kernel.modulesDir) files.push(opts.kernel.modulesDir, join(opts.kernel.modulesDir, 'modules.dep'));
  const parts = await Promise.all(
    files.map((f) => stat(f).then((st) => `${f}:${st.size}:${st.mtimeMs}:${st.ino}`, () => `${f}:-`)),
  );
  return createHash('sha256').update(`v${INIT_VERSION}\0${INIT_SCRIPT}\0${opts.kernel.confinedTo ?? ''}\0${parts.join('\0')}`).digest('hex').slice(0, 32);
}

async function buildIfMissing(opts: InitramfsOptions, dir: string): Promise<Initramfs> {
  const busyboxPath = opts.busybox ?? '/bin/busybox';
  const busybox = await readFile(busyboxPath).catch((e: NodeJS.ErrnoException) => {
    throw new HostToolError(`busybox not found at ${busyboxPath}: install the Debian package busybox-static`, { cause: e });
  });
  if (hasInterpreter(busybox)) {
    throw new HostToolError(`${busyboxPath} is dynamically linked and cannot run in the guest: install the Debian package busybox-static`);
  }
  const digest = await kernelDigest(opts.kernel.kernel);
  // One list per group, each without what the base list loads; a module two groups need (none
  // today) is listed by both, and the guest never loads two groups that share one.
  const modDir = opts.kernel.modulesDir;
  const base = modDir ? await resolveModules(modDir, BASE_MODULES) : [];
  const beyondBase = async (names: string[]) => (modDir ? (await resolveModules(modDir, [...BASE_MODULES, ...names])).filter((m) => !base.some((b) => b.name === m.name)) : []);
  const [net, disk, fs, overlay] = await Promise.all([beyondBase(NET_MODULES), beyondBase(DISK_MODULES), beyondBase(FS_MODULES), beyondBase(OVERLAY_MODULES)]);
  const all = new Map<string, KernelModule>();
  for (const m of [...base, ...net, ...disk, ...fs, ...overlay]) all.set(m.name, m);
  const modules = await loadModules([...all.values()], opts.kernel.confinedTo);

  const key = createHash('sha256');
  key.update(`init v${INIT_VERSION}\0${INIT_SCRIPT}\0${JSON.stringify([GUEST_FSTABS, DEV_EXTRA])}\0${digest}\0`).update(busybox);
  for (const m of modules) key.update(`${m.name}\0`).update(m.data);
  const path = join(dir, `${key.digest('hex').slice(0, 32)}.cpio`);
  if (await stat(path).then((s) => s.isFile(), () => false)) return { path, kernelDigest: digest };

  const names = (ms: KernelModule[]) => ms.map((m) => m.name);
  const lists = { base: names(base), net: names(net), disk: names(disk), fs: names(fs), overlay: names(overlay) };
  const archive = buildCpio(entries(busybox, modules, lists));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, archive, { mode: 0o644 });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path, kernelDigest: digest };
}

/**
 * The per-VM archive appended to the cached initramfs: /bbox/spec, and /bbox/owners when the
 * root needs the image's owners and modes applied in the guest (see root/guest-owners.ts).
 */
export function specArchive(spec: VmSpec, opts: GuestOptions = {}, owners = ''): Buffer {
  return buildCpio([
    { type: 'dir', path: 'bbox', mode: 0o700 },
    { type: 'file', path: 'bbox/spec', data: Buffer.from(specScript(spec, opts)), mode: 0o600 },
    ...(owners ? [{ type: 'file' as const, path: 'bbox/owners', data: Buffer.from(owners), mode: 0o600 }] : []),
  ]);
}

function entries(busybox: Buffer, modules: { name: string; data: Buffer }[], lists: Record<'base' | 'net' | 'disk' | 'fs' | 'overlay', string[]>): CpioEntry[] {
  const list = (names: string[]) => Buffer.from(names.map((n) => `${n}.ko\n`).join(''));
  const files: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((path): CpioEntry => ({ type: 'dir', path })),
    { type: 'dir', path: 'etc' },
    ...Object.entries(GUEST_FSTABS).map(([path, lines]): CpioEntry => ({ type: 'file', path, data: Buffer.from(lines.join('\n') + '\n') })),
    { type: 'dir', path: 'dev-extra' },
    ...DEV_EXTRA.dirs.map((d): CpioEntry => ({ type: 'dir', path: `dev-extra/${d}` })),
    ...Object.entries(DEV_EXTRA.links).map(([name, target]): CpioEntry => ({ type: 'symlink', path: `dev-extra/${name}`, target })),
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'init', data: Buffer.from(INIT_SCRIPT), mode: 0o755 },
    { type: 'file', path: 'lib/modules/load.list', data: list(lists.base) },
    { type: 'file', path: 'lib/modules/load-net.list', data: list(lists.net) },
    { type: 'file', path: 'lib/modules/load-fs.list', data: list(lists.fs) },
    { type: 'file', path: 'lib/modules/load-disk.list', data: list(lists.disk) },
    { type: 'file', path: 'lib/modules/load-overlay.list', data: list(lists.overlay) },
  ];
  for (const m of modules) files.push({ type: 'file', path: `lib/modules/${m.name}.ko`, data: m.data });
  return files;
}

async function loadModules(mods: KernelModule[], confinedTo: string | undefined): Promise<{ name: string; data: Buffer }[]> {
  return Promise.all(
    mods.map(async (m) => {
      if (confinedTo) {
        // A kernel image is untrusted content: its module files must not lead outside it.
        const real = await realpath(m.path);
        if (!real.startsWith(confinedTo + sep)) throw new KernelModuleError(`kernel module ${m.path} resolves outside the kernel image (${real}): refusing it`);
      }
      return { name: moduleName(m.path), data: await readModuleElf(m.path) };
    }),
  );
}

/** True when the ELF has a PT_INTERP program header, i.e. is dynamically linked. */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 <= elf.length && elf.readUInt32LE(at) === 3) return true;
  }
  return false;
}
