/**
 * Choosing the accelerator. `auto` uses KVM only when a guest really boots under it: on some hosts
 * /dev/kvm opens but guests hang or QEMU aborts, so a tiny guest is booted with a time limit. The
 * verdict is cached per host boot and QEMU binary.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Accelerator, Backend, MachineConfig } from './backend.js';
import { AcceleratorError } from '../errors.js';
import { PROBE_ARG, PROBE_MARK } from '../guest/guest-init.js';
import { kernelCmdline } from './qemu.js';

import { ACCELERATORS, type AccelRequest } from './accelerators.js';

export { ACCELERATORS, type AccelRequest };

export interface AccelOptions {
  backend: Backend;
  kernel: string;
  initrd: string;
  /** Directory for the cached verdict (`accel-probe.json`). */
  cacheDir: string;
  /** Time limit of the probe boot (default 10 s). */
  probeTimeoutMs?: number;
  /** Told, in one line, why `auto` falls back to TCG when the reason is one the user can fix. */
  onNotice?: (line: string) => void;
}

/** Resolves `auto` to `kvm` or `tcg`; `kvm` fails clearly when /dev/kvm cannot be opened. */
export async function chooseAccelerator(request: AccelRequest | undefined, opts: AccelOptions): Promise<Accelerator> {
  const req = request ?? 'auto';
  if (!(ACCELERATORS as readonly string[]).includes(req)) {
    throw new AcceleratorError(`accelerator "${String(req)}" is not known: use one of ${ACCELERATORS.join(', ')}`);
  }
  if (req === 'tcg') return 'tcg';
  const kvmOpens = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  if (req === 'kvm') {
    if (!kvmOpens) {
      const why = (await kvmAccessHint()) ?? 'this host has no /dev/kvm (no KVM support, or it is not passed to this container)';
      throw new AcceleratorError(`accelerator kvm was asked for but /dev/kvm cannot be opened: ${why}; or use --accel tcg`);
    }
    return 'kvm';
  }
  if (!kvmOpens) {
    const hint = await kvmAccessHint();
    if (hint) opts.onNotice?.(`${hint}; running under TCG (software emulation, much slower) meanwhile`);
    return 'tcg';
  }
  return (await kvmWorks(opts)) ? 'kvm' : 'tcg';
}

/**
 * How this user gets KVM when /dev/kvm exists but cannot be opened: join the group that owns it
 * (Debian: `kvm`). Undefined when there is no /dev/kvm at all (nothing a group can fix).
 */
export async function kvmAccessHint(device = '/dev/kvm'): Promise<string | undefined> {
  const st = await stat(device).catch(() => undefined);
  if (!st) return undefined;
  const user = safeUserName() ?? 'this user';
  const owner = (await groupName(st.gid)) ?? `gid ${st.gid}`;
  const join = (group: string) => `add ${user} to the group ${group} (sudo usermod -aG ${group} ${user}, then log in again)`;
  // A group that cannot open the device is no help: Debian's udev rule gives it to kvm, 0660.
  if (st.gid !== 0 && (st.mode & 0o060) === 0o060) return `${device} is not accessible to ${user}: ${join(owner)} to use KVM`;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  return `${device} is not accessible to ${user} (mode ${mode}, group ${owner}): give it to the group kvm with mode 0660 (Debian's udev rule does) and ${join('kvm')} to use KVM`;
}

async function groupName(gid: number): Promise<string | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === gid) return name;
  }
  return undefined;
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

async function kvmWorks(opts: AccelOptions): Promise<boolean> {
  const file = join(opts.cacheDir, 'accel-probe.json');
  const key = await hostKey(opts.backend.name);
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { key?: string; kvm?: boolean }, () => undefined);
  if (cached?.key === key && typeof cached.kvm === 'boolean') return cached.kvm;
  const kvm = await probeBoot(opts, 'kvm');
  await mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify({ key, kvm, at: new Date().toISOString() }) + '\n');
  await rename(tmp, file);
  return kvm;
}

/**
 * Boots the kernel and initramfs with `bbox.probe` (the guest powers off as soon as /init runs).
 * True when it did so within the time limit. Also the bare-boot baseline of the benchmark.
 */
export async function probeBoot(opts: AccelOptions, accel: Accelerator): Promise<boolean> {
  const config: MachineConfig = {
    kernel: opts.kernel,
    initrd: opts.initrd,
    cmdline: kernelCmdline(accel, [PROBE_ARG]),
    accel,
    cpus: 1,
    memoryMiB: 256,
    channels: [],
  };
  const machine = await opts.backend.start(config).catch(() => undefined);
  if (!machine) return false;
  let output = '';
  machine.console.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => void machine.kill(), opts.probeTimeoutMs ?? 10_000);
  const exit = await machine.wait().finally(() => clearTimeout(timer));
  return exit.code === 0 && output.includes(PROBE_MARK);
}

async function hostKey(backend: string): Promise<string> {
  const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => 'unknown');
  return `${backend}:${bootId}`;
}
