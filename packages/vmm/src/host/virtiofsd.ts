/**
 * Starting virtiofsd, the host end of a virtio-fs share, for one directory. A read-only share is
 * enforced on the host: virtiofsd runs in its own mount namespace where the directory is
 * bind-mounted read-only, so even root in the guest cannot write through it. Without root, that
 * namespace lives in a user namespace where this user is root: either with the user's subordinate
 * ids as everyone else (`ids: 'all'`, needed when the guest writes files of other owners), or with
 * this user alone (`ids: 'self'`, enough to serve a read-only tree this user owns, and needing no
 * subordinate ids or uidmap).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { HostToolError } from '../errors.js';
import { findHostTool } from './host-tool.js';

/** Where Debian and other distributions install virtiofsd (it is not on PATH). */
const VIRTIOFSD_PATHS = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd', '/usr/lib/virtiofsd'];

/** What to share and how. */
export interface VirtiofsdOptions {
  /** The host directory. */
  source: string;
  /** The vhost-user socket QEMU connects to. */
  socketPath: string;
  readOnly: boolean;
  /** Without root: which ids the user namespace maps (see the module comment). Ignored as root. */
  ids: 'all' | 'self';
  /**
   * `always` for a tree nothing changes while the VM runs (the guest keeps what it read), `auto`
   * for a directory the host may change under the guest.
   */
  cache: 'always' | 'auto';
}

/** A running virtiofsd. */
export interface Virtiofsd {
  socketPath: string;
  stop(): Promise<void>;
}

/** The virtiofsd program: the distribution's helper directories, then PATH. */
export function findVirtiofsd(): string {
  return VIRTIOFSD_PATHS.find((p) => existsSync(p)) ?? findHostTool('virtiofsd');
}

/** True when this process runs as root (no user namespace needed). */
export const runningAsRoot = (): boolean => process.getuid?.() === 0;

/** Starts virtiofsd for `opts.source`; resolves once its socket exists (it is then ready for QEMU). */
export async function startVirtiofsd(opts: VirtiofsdOptions, daemon: string = findVirtiofsd()): Promise<Virtiofsd> {
  const root = runningAsRoot();
  // Without root, /run belongs to root: virtiofsd's lock directory goes in a private tmpfs there.
  const run =
    (root ? '' : 'mount -t tmpfs -o mode=0755 tmpfs /run && ') +
    (opts.readOnly ? 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && ' : '') +
    `exec "$3" --socket-path="$2" -o source="$1" -o cache=${opts.cache} -o log_level=err`;
  const userns = root ? [] : opts.ids === 'all' ? ['--map-auto', '--map-root-user'] : ['--map-root-user'];
  const child = spawn(findHostTool('unshare'), [...userns, '--mount', '--propagation', 'private', 'sh', '-c', run, 'sh', opts.source, opts.socketPath, daemon], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 8192) err += d.toString();
  });
  const exited = once(child, 'exit').catch(() => undefined);
  // virtiofsd creates its socket once it is ready for QEMU.
  while (!existsSync(opts.socketPath)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new HostToolError(`virtiofsd for ${opts.source} failed to start: ${err.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { socketPath: opts.socketPath, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited;
}
