/** The machine-level interface a VM monitor implements; `runVm` drives it. */
import type { Readable } from 'node:stream';

/** A concrete accelerator. */
export type Accelerator = 'kvm' | 'tcg';

/** A guest<->host byte channel (a virtio-serial port in the guest, a unix socket on the host). */
export interface ChannelSpec {
  /** Port name the guest looks up. */
  name: string;
  /** Unix socket the host listens on; the monitor connects to it. */
  socketPath: string;
  /** A console port (a terminal in the guest, /dev/hvc0) rather than a plain byte port. */
  console?: boolean;
}

/** Everything needed to start one machine. */
export interface MachineConfig {
  kernel: string;
  initrd: string;
  cmdline: string;
  accel: Accelerator;
  cpus: number;
  memoryMiB: number;
  /**
   * Root disk (the guest's /dev/vda). With `snapshot`, the file is opened read-only and the
   * guest's writes go to a temporary copy-on-write layer the monitor keeps in `tmpDir` and
   * deletes when it exits.
   */
  rootDisk?: { path: string; format: 'qcow2' | 'raw'; snapshot?: boolean };
  /** Directory for the monitor's temporary files (default: the system's). */
  tmpDir?: string;
  channels: ChannelSpec[];
  /** User-mode networking (NAT, guest 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3). */
  network?: boolean;
  /** virtio-fs shares: a vhost-user socket (served by virtiofsd) per tag. */
  shares?: { tag: string; socketPath: string }[];
}

/** How a machine ended. */
export interface MachineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The monitor's own error output (not the guest's). */
  stderr: string;
}

/** A started machine. */
export interface Machine {
  /** The guest's serial console (kernel and init messages). */
  readonly console: Readable;
  /** Settles when the machine has stopped. */
  wait(): Promise<MachineExit>;
  /** Stops the machine at once; resolves when it has stopped. */
  kill(): Promise<MachineExit>;
}

/** A VM monitor: starts machines. */
export interface Backend {
  readonly name: string;
  start(config: MachineConfig): Promise<Machine>;
}
