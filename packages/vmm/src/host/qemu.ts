/** The QEMU `-M microvm` backend: virtio-mmio devices only, no firmware, no PCI. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dyingWithThisProcess } from './death-signal.js';
import type { Backend, Machine, MachineConfig, MachineExit } from './backend.js';
import { findHostTool, toolError } from './host-tool.js';

export interface QemuBackendOptions {
  /** The QEMU binary (default `qemu-system-x86_64`, from PATH or the system directories). */
  binary?: string;
}

/** Starts guests with `qemu-system-x86_64 -M microvm`. */
export class QemuBackend implements Backend {
  readonly name = 'qemu-microvm';
  readonly binary: string;

  constructor(opts: QemuBackendOptions = {}) {
    this.binary = opts.binary ?? 'qemu-system-x86_64';
  }

  start(config: MachineConfig): Promise<Machine> {
    const env = config.tmpDir ? { ...process.env, TMPDIR: config.tmpDir } : process.env;
    let program: string;
    try {
      program = findHostTool(this.binary);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    // The monitor dies with this process, however it ends (kill -9, the OOM killer, a crash).
    const command = dyingWithThisProcess(program, qemuArgs(config));
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 << 10) stderr += d.toString();
    });
    const exited = new Promise<MachineExit>((resolve, reject) => {
      child.on('error', (e: NodeJS.ErrnoException) => reject(toolError(this.binary, e)));
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
    return new Promise((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => reject(toolError(this.binary, e)));
      child.once('spawn', () =>
        resolve({
          console: child.stdout,
          wait: () => exited,
          kill: () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            return exited;
          },
        }),
      );
    });
  }
}

/** The QEMU command line for `config`. */
export function qemuArgs(c: MachineConfig): string[] {
  // Without kvmclock (TCG) the kernel needs the legacy PIT/PIC to calibrate its timers.
  let machine = c.accel === 'kvm' ? 'microvm,accel=kvm' : 'microvm,accel=tcg,pit=on,pic=on,rtc=on';
  const shares = c.shares ?? [];
  // vhost-user devices need guest memory that virtiofsd can map.
  if (shares.length) machine += ',memory-backend=mem';
  const args = [
    '-M', machine,
    '-cpu', c.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(c.cpus),
    '-m', String(c.memoryMiB),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    // Modern (virtio 1.0) transport: vhost-user devices such as virtio-fs refuse the legacy one.
    '-global', 'virtio-mmio.force-legacy=false',
    '-serial', 'stdio',
    '-kernel', c.kernel,
    '-initrd', c.initrd,
    '-append', c.cmdline,
  ];
  if (c.rootDisk) {
    // cache=unsafe: the disk is a throwaway overlay, nothing needs to survive a host crash.
    const snapshot = c.rootDisk.snapshot ? ',snapshot=on' : '';
    args.push('-drive', `id=root,file=${escapeOpt(c.rootDisk.path)},format=${c.rootDisk.format},if=none,cache=unsafe${snapshot}`);
    args.push('-device', 'virtio-blk-device,drive=root');
  }
  if (c.channels.length) {
    args.push('-device', 'virtio-serial-device');
    c.channels.forEach((ch, i) => {
      args.push('-chardev', `socket,id=ch${i},path=${escapeOpt(ch.socketPath)}`);
      args.push('-device', `${ch.console ? 'virtconsole' : 'virtserialport'},chardev=ch${i},name=${ch.name}`);
    });
  }
  if (shares.length) args.push('-object', `memory-backend-memfd,id=mem,size=${c.memoryMiB}M,share=on`);
  shares.forEach((s, i) => {
    args.push('-chardev', `socket,id=fs${i},path=${escapeOpt(s.socketPath)}`);
    args.push('-device', `vhost-user-fs-device,chardev=fs${i},tag=${s.tag}`);
  });
  if (c.network) args.push('-netdev', 'user,id=net0', '-device', 'virtio-net-device,netdev=net0');
  return args;
}

/** Kernel command line words for `accel`. */
export function kernelCmdline(accel: MachineConfig['accel'], extra: string[] = []): string {
  const words = ['console=ttyS0', 'reboot=t', 'panic=-1', 'quiet'];
  // Under TCG the PIT calibration of the TSC is unreliable on a busy host: give the frequency.
  if (accel === 'tcg') words.push(`tsc_early_khz=${hostTscKhz()}`, 'tsc=reliable');
  return [...words, ...extra].join(' ');
}

let tscKhz: number | undefined;
function hostTscKhz(): number {
  if (tscKhz === undefined) {
    const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    tscKhz = mhz ? Math.round(Number(mhz) * 1000) : 2_000_000;
  }
  return tscKhz;
}

/** QEMU option values escape a comma by doubling it. */
function escapeOpt(v: string): string {
  return v.replace(/,/g, ',,');
}
