/**
 * Kernel modules for the guest: which of the needed drivers are loadable modules (not built in),
 * their dependencies in load order, and their bytes (decompressed, since busybox insmod takes ELF).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { KernelModuleError } from '../errors.js';
import { findHostTool, toolError } from '../host/host-tool.js';

const execFileP = promisify(execFile);

/** A module to load, in dependency order. */
export interface KernelModule {
  /** Normalised name (`virtio_blk`). */
  name: string;
  /** Host path of the module file (possibly compressed). */
  path: string;
}

const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** `virtio-blk.ko.xz` → `virtio_blk`. */
export function moduleName(file: string): string {
  return basename(file).replace(MODULE_FILE, '').replace(/-/g, '_');
}

/**
 * The modules to load so that every name in `wanted` is available, dependencies first. Names built
 * into the kernel (modules.builtin) need nothing. Names in `optional` are skipped when absent.
 */
export async function resolveModules(modulesDir: string, wanted: string[], optional: string[] = []): Promise<KernelModule[]> {
  const builtin = await readBuiltin(modulesDir);
  const deps = await readDeps(modulesDir);
  const order: KernelModule[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    if (seen.has(name) || builtin.has(name)) return;
    const entry = deps.get(name);
    if (!entry) {
      throw new KernelModuleError(
        `kernel module ${name} (needed for ${chain.join(' → ')}) is neither built into the kernel nor in ${modulesDir}: use a kernel with virtio-mmio, virtio-blk, ext4, virtio-fs and overlayfs support, such as Debian's linux-image-cloud-amd64`,
      );
    }
    seen.add(name);
    // Without modules.dep, a module's own depends= field says what it needs.
    const needs = entry.deps ?? modinfoDepends(await readModuleElf(entry.path));
    for (const d of needs) await visit(d, [...chain, d]);
    order.push({ name, path: entry.path });
  };
  for (const name of wanted) await visit(name, [name]);
  for (const name of optional) if (deps.has(name)) await visit(name, [name]);
  return order;
}

/** The module's ELF bytes, decompressed when the file is compressed. */
export async function readModuleElf(path: string): Promise<Buffer> {
  if (path.endsWith('.gz')) return gunzipSync(await readFile(path));
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return readFile(path);
  const program = findHostTool(tool);
  try {
    const { stdout } = await execFileP(program, ['-dc', path], { encoding: 'buffer', maxBuffer: 256 << 20 });
    return stdout;
  } catch (e) {
    throw toolError(tool, e as NodeJS.ErrnoException);
  }
}

async function readBuiltin(dir: string): Promise<Set<string>> {
  const text = await readFile(join(dir, 'modules.builtin'), 'utf8').catch(() => '');
  return new Set(text.split('\n').filter(Boolean).map(moduleName));
}

interface DepEntry {
  path: string;
  /** Undefined until read from the module itself (no modules.dep). */
  deps?: string[];
}

/** From modules.dep when depmod has run, else from each module's own `depends=` field. */
async function readDeps(dir: string): Promise<Map<string, DepEntry>> {
  const text = await readFile(join(dir, 'modules.dep'), 'utf8').catch(() => undefined);
  const map = new Map<string, DepEntry>();
  if (text !== undefined) {
    for (const line of text.split('\n')) {
      const [file, rest] = line.split(':');
      if (!file || rest === undefined) continue;
      map.set(moduleName(file), { path: join(dir, file), deps: rest.trim().split(/\s+/).filter(Boolean).map(moduleName) });
    }
    return map;
  }
  for (const path of await walkModules(dir)) map.set(moduleName(path), { path });
  return map;
}

async function walkModules(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && MODULE_FILE.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** The `depends=` list of a module's .modinfo ELF section. */
export function modinfoDepends(elf: Buffer): string[] {
  const info = elfSection(elf, '.modinfo');
  if (!info) return [];
  for (const field of info.toString('latin1').split('\0')) {
    if (field.startsWith('depends=')) return field.slice(8).split(',').filter(Boolean).map(moduleName);
  }
  return [];
}

function elfSection(elf: Buffer, wanted: string): Buffer | undefined {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return undefined;
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  if (shoff + shnum * shentsize > elf.length || shstrndx >= shnum) return undefined;
  const names = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const end = elf.indexOf(0, names.offset + h.name);
    if (elf.toString('latin1', names.offset + h.name, end) === wanted) return elf.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}
