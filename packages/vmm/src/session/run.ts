/**
 * `runVm`: boot an image's rootfs in a microVM, run its command, stream its output, return its
 * exit code. Per-VM files (overlay, initrd, sockets) live in one directory removed when the VM ends,
 * whatever the reason (exit, failure, timeout, abort).
 */
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ImageConfig } from 'oci-client-lite';
import { chooseAccelerator, type AccelRequest } from '../host/accel.js';
import type { Accelerator, Backend, Machine, MachineExit } from '../host/backend.js';
import { HostChannels } from './channels.js';
import type { WindowSize } from '../guest/guest-init.js';
import { ensureRootDisk } from '../disk/disk.js';
import type { DiskEntrySource } from '../disk/disk-owners.js';
import { VmAbortedError, VmBootError, VmCrashedError, VmSpecError, VmTimeoutError } from '../errors.js';
import { ensureInitramfs, specArchive } from '../guest/initramfs.js';
import { findKernel, type KernelFiles, type KernelOptions } from '../guest/kernel.js';
import { defaultVmCacheDir } from '../host/paths.js';
import { lookupCommand } from '../spec/launch.js';
import { kernelCmdline, QemuBackend } from '../host/qemu.js';
import { buildVmSpec, type VmSpec, type VmSpecOverrides } from '../spec/spec.js';
import { VmControl } from './vm-control.js';
import { checkVolumes, startShares, type Share, type Volume } from '../spec/volumes.js';
import { startVirtiofsd, type Virtiofsd } from '../host/virtiofsd.js';
import { cachedGuestOwners, makeGuestOwners } from '../root/guest-owners.js';
import { ensureScratchTemplate } from '../root/scratch-disk.js';
import { chooseRootMode, type RootMode, type RootRequest } from '../root/root-mode.js';

/** Options of {@link runVm}. */
export interface RunVmOptions extends VmSpecOverrides {
  /** The image's rootfs directory (read only: never written). */
  rootfsPath: string;
  /** The image's manifest digest. */
  digest: string;
  config: ImageConfig;
  /**
   * How the root reaches the guest: `share` (the rootfs directory over virtio-fs, read-only, under
   * a throwaway overlay), `disk` (an ext4 image of it at `diskPath`, built once), or `auto`
   * (default, unless `$BBOX_VM_ROOT` says otherwise): share wherever virtiofsd can run. See
   * docs/vm.md ("The root").
   */
  root?: RootRequest;
  /** Where the per-digest ext4 image lives (built when missing): needed when the root is a disk. */
  diskPath?: string;
  /**
   * The image's owners, groups and modes per path (`Cache.imageOwners` of `@broodbox/image`),
   * read only when the disk or the owners script is made: the guest sees them even when the
   * rootfs was unpacked without root. Without it, the guest sees the rootfs as stored.
   */
  owners?: DiskEntrySource;
  /** Where the shared root's owners script is kept between runs (made when missing or not this user's). */
  ownersScriptPath?: string;
  /** Told when the root disk is being built for this run (the first run of an image with a disk root): it takes seconds. */
  onRootDiskBuild?: () => void;
  /** Directory for per-VM files (a `vm-*` subdirectory per run, removed at the end). */
  workDir: string;
  /** Kernel choice (default: discovery, see docs/vm.md). */
  kernel?: KernelOptions;
  /** `auto` (default), `kvm` or `tcg`. */
  accel?: AccelRequest;
  /** Where the initramfs and accelerator verdict are cached (default `$XDG_CACHE_HOME/broodbox/vm`). */
  cacheDir?: string;
  /** Program stdout (default the process's). Not ended. */
  stdout?: Writable;
  /** Program stderr (default the process's). Not ended. With `tty`, unused: the terminal carries both. */
  stderr?: Writable;
  /**
   * The program's stdin (default none: /dev/null in the guest). Its end is the program's end of
   * file; with `tty` it is the terminal's input (raw bytes: ^C, ^D and ^Z act in the guest).
   */
  stdin?: Readable;
  /** Run the program on a terminal of this size (`term`: TERM when the spec sets none, default xterm). */
  tty?: WindowSize & { term?: string };
  /** Forward signals and window sizes to the program while it runs. */
  control?: VmControl;
  /** Stops the VM (e.g. on Ctrl-C); the run then rejects with VmAbortedError. */
  signal?: AbortSignal;
  /** User-mode networking. */
  network?: boolean;
  /** Host directories to mount in the guest over virtio-fs (without root: needs uidmap and a subordinate id range, see docs/vm.md). */
  volumes?: Volume[];
  hostname?: string;
  /** Each line of the guest console (kernel and init messages). */
  onConsole?: (line: string) => void;
  backend?: Backend;
  /** busybox-static binary for the initramfs (default /bin/busybox). */
  busybox?: string;
  /**
   * One-line notices about the host the user can act on (no access to /dev/kvm, so TCG is used).
   * Default: written to `stderr` with a `bbox: ` prefix.
   */
  onNotice?: (line: string) => void;
}

/** What a finished run reports. */
export interface RunVmResult {
  /** The command's exit status in the guest (128+N when killed by signal N). */
  exitCode: number;
  accel: Accelerator;
  spec: VmSpec;
  /** How the root reached the guest. */
  root: RootMode;
  /** Whether this run built the root disk (always false for a shared root). */
  diskBuilt: boolean;
  /** From start of the machine to its power-off; 0 when none was started (a command found in no PATH directory). */
  machineMs: number;
}

/** The kernel, initramfs and accelerator a run would use; also what a bare-boot benchmark needs. */
export interface PreparedBoot {
  kernel: KernelFiles;
  initramfs: string;
  accel: Accelerator;
  backend: Backend;
  cacheDir: string;
}

const CONSOLE_TAIL = 25;
/** Unix socket paths are limited to 107 bytes. */
const MAX_SOCKET_DIR = 90;

/** The virtio-fs tag of the shared root (volumes are `bbox0`, `bbox1`, …). */
const ROOT_TAG = 'bboxroot';

function diskPathOf(opts: RunVmOptions): string {
  if (!opts.diskPath) throw new VmSpecError('the root is a disk here (no virtiofsd, or no user namespaces without root), and no diskPath was given for it');
  return opts.diskPath;
}

/** Finds the kernel, builds or reuses the initramfs and picks the accelerator. */
export async function prepareBoot(opts: Pick<RunVmOptions, 'kernel' | 'accel' | 'cacheDir' | 'backend' | 'busybox' | 'onNotice'> = {}): Promise<PreparedBoot> {
  const cacheDir = opts.cacheDir ?? defaultVmCacheDir();
  const backend = opts.backend ?? new QemuBackend();
  const kernel = await findKernel(opts.kernel);
  const initramfs = await ensureInitramfs({ kernel, cacheDir, busybox: opts.busybox });
  const accel = await chooseAccelerator(opts.accel, { backend, kernel: kernel.kernel, initrd: initramfs.path, cacheDir, onNotice: opts.onNotice });
  return { kernel, initramfs: initramfs.path, accel, backend, cacheDir };
}

/** Boots the image and runs its command (or the one given); resolves with the command's exit code. */
export async function runVm(opts: RunVmOptions): Promise<RunVmResult> {
  opts.signal?.throwIfAborted();
  const spec = await buildVmSpec(opts.config, opts, opts.rootfsPath);
  if (opts.tty && !spec.env.some((kv) => kv.startsWith('TERM='))) spec.env.push(`TERM=${opts.tty.term ?? 'xterm'}`);
  const volumes = opts.volumes ?? [];
  await checkVolumes(volumes);
  const root = await chooseRootMode(opts.root);
  // A shared root's owners script: kept from an earlier run and put in the initramfs, or (an
  // image's first run) made from now on while the VM boots, and sent on a port of its own.
  const keptOwners = root === 'share' && opts.owners ? await cachedGuestOwners(opts.ownersScriptPath) : '';
  const lateOwners = root === 'share' && keptOwners === undefined ? makeGuestOwners(opts.rootfsPath, opts.owners, opts.ownersScriptPath) : undefined;
  lateOwners?.catch(() => undefined);
  const boot = await prepareBoot({ ...opts, onNotice: opts.onNotice ?? ((line) => (opts.stderr ?? process.stderr).write(`bbox: ${line}\n`)) });
  // Shared directories can hide or add files the command lookup would see: the guest decides then.
  const command = volumes.length === 0 ? await lookupCommand(opts.rootfsPath, spec) : undefined;
  if (command?.kind === 'missing') {
    (opts.stderr ?? process.stderr).write(command.message);
    return { exitCode: command.exitCode, accel: boot.accel, spec, root, diskBuilt: false, machineMs: 0 };
  }
  const disk = root === 'disk' ? await ensureRootDisk(opts.rootfsPath, diskPathOf(opts), { signal: opts.signal, owners: opts.owners, ...(opts.onRootDiskBuild ? { onBuild: opts.onRootDiskBuild } : {}) }) : undefined;

  await mkdir(opts.workDir, { recursive: true });
  const vmDir = await mkdtemp(join(opts.workDir, 'vm-'));
  const sockDir = vmDir.length <= MAX_SOCKET_DIR ? vmDir : await mkdtemp(join(tmpdir(), 'bbox-'));
  let channels: HostChannels | undefined;
  let shares: Share[] = [];
  let rootShare: Virtiofsd | undefined;
  try {
    const initrd = join(vmDir, 'initrd.cpio');
    // The copy, the root's virtiofsd and its writable layer are independent: made at once.
    const [copied, started, scratchMade] = await Promise.allSettled([
      copyFile(boot.initramfs, initrd),
      root === 'share' ? startVirtiofsd({ source: opts.rootfsPath, socketPath: join(sockDir, 'root.sock'), readOnly: true, ids: 'self', cache: 'always' }) : undefined,
      root === 'share' ? ensureScratchTemplate(boot.cacheDir) : undefined,
    ]);
    if (started.status === 'fulfilled') rootShare = started.value;
    for (const r of [copied, started]) if (r.status === 'rejected') throw r.reason;
    const scratch = scratchMade.status === 'fulfilled' ? scratchMade.value : undefined;
    shares = await startShares(volumes, sockDir);
    const guestShares = shares.map((s) => ({ tag: s.tag, guest: s.volume.guest, readOnly: s.volume.readOnly }));
    const hostname = opts.hostname ?? `bbox-${randomBytes(3).toString('hex')}`;
    const launch = command?.kind === 'found' ? command.launch : undefined;
    const tty = opts.tty ? (opts.control?.lastSize() ?? opts.tty) : undefined;
    // With a terminal, input travels through it: no separate stdin port.
    const stdin = opts.stdin !== undefined && tty === undefined;
    const guestRoot = rootShare ? { kind: 'share' as const, tag: ROOT_TAG, scratch: scratch !== undefined, ownersPort: lateOwners !== undefined } : { kind: 'disk' as const };
    await appendFile(initrd, specArchive(spec, { network: opts.network, hostname, root: guestRoot, shares: guestShares, launch, stdin, tty }, keptOwners ?? ''));
    channels = await HostChannels.open(sockDir, {
      stdout: opts.stdout ?? process.stdout,
      stderr: opts.stderr ?? process.stderr,
      stdin: opts.stdin,
      tty: tty !== undefined,
      // A script that could not be made becomes one that fails in the guest; the run reports why.
      owners: lateOwners?.catch(() => 'exit 1\n'),
    });
    opts.control?.attach(channels);
    const startedAt = Date.now();
    const machine = await boot.backend.start({
      kernel: boot.kernel.kernel,
      initrd,
      cmdline: kernelCmdline(boot.accel),
      accel: boot.accel,
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      // The monitor's own copy-on-write layer over the shared ext4 image (the root disk, or the
      // shared root's empty writable layer), kept in this VM's directory: no qemu-img process per
      // run, and it is gone when the monitor exits.
      ...(disk || scratch ? { rootDisk: { path: disk?.path ?? (scratch as string), format: 'raw' as const, snapshot: true } } : {}),
      tmpDir: vmDir,
      channels: channels.specs(),
      network: opts.network,
      shares: [...(rootShare ? [{ tag: ROOT_TAG, socketPath: rootShare.socketPath }] : []), ...shares.map((s) => ({ tag: s.tag, socketPath: s.socketPath }))],
    });
    const exitCode = await supervise(machine, channels, spec, opts).catch(async (e: unknown) => {
      throw (await lateOwners?.then(() => undefined, (why: unknown) => why)) ?? e;
    });
    return { exitCode, accel: boot.accel, spec, root, diskBuilt: disk?.built ?? false, machineMs: Date.now() - startedAt };
  } finally {
    opts.control?.detach();
    await channels?.close();
    await Promise.all([...shares, ...(rootShare ? [rootShare] : [])].map((s) => s.stop()));
    await rm(vmDir, { recursive: true, force: true });
    if (sockDir !== vmDir) await rm(sockDir, { recursive: true, force: true });
  }
}

/** Waits for the machine, enforcing timeout and abort, and turns what happened into an exit code or an error. */
async function supervise(machine: Machine, channels: HostChannels, spec: VmSpec, opts: RunVmOptions): Promise<number> {
  const tail: string[] = [];
  watchConsole(machine, tail, opts.onConsole);
  let stopReason: 'timeout' | 'abort' | undefined;
  const stop = (why: 'timeout' | 'abort') => {
    stopReason ??= why;
    void machine.kill();
  };
  const timer = spec.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined;
  const onAbort = () => stop('abort');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: MachineExit;
  try {
    exit = await machine.wait();
    await channels.drain();
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (stopReason === 'timeout') throw new VmTimeoutError(spec.timeoutMs as number);
  if (stopReason === 'abort') throw new VmAbortedError({ cause: opts.signal?.reason });
  const status = channels.status;
  if (status.exitCode !== undefined) return status.exitCode;
  const lines = [...tail, ...exit.stderr.trim().split('\n').filter(Boolean).map((l) => `qemu: ${l}`)];
  const why = status.failure ?? `the monitor exited (${exit.signal ?? `code ${exit.code}`})`;
  if (status.started) throw new VmCrashedError(why, lines);
  throw new VmBootError(why, lines);
}

function watchConsole(machine: Machine, tail: string[], onLine?: (line: string) => void): void {
  let buf = '';
  const push = (line: string) => {
    const clean = line.replace(/\r$/, '');
    tail.push(clean);
    if (tail.length > CONSOLE_TAIL) tail.shift();
    onLine?.(clean);
  };
  machine.console.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  machine.console.on('end', () => {
    if (buf) push(buf);
  });
}
