/**
 * Host directories shared with the guest (`-v HOST:GUEST[:ro]`) over virtio-fs: one `virtiofsd`
 * per directory. A read-only share is enforced on the host: virtiofsd runs in its own mount
 * namespace where the directory is bind-mounted read-only, so even root in the guest cannot write.
 * Without root, that namespace lives in a user namespace where the user is root and the user's
 * subordinate ids (`/etc/subuid`, `/etc/subgid`, mapped by `newuidmap` from the uidmap package)
 * are everyone else: virtiofsd needs a full set of ids to act as the guest's users.
 */
import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { HostToolError, VmSpecError } from '../errors.js';
import { findHostTool } from '../host/host-tool.js';
import { findVirtiofsd, runningAsRoot, startVirtiofsd } from '../host/virtiofsd.js';

/** A host directory mounted in the guest. */
export interface Volume {
  host: string;
  /** Absolute path in the guest (created when missing). */
  guest: string;
  readOnly?: boolean;
}

/** A running share: its tag (the guest's mount source) and socket. */
export interface Share {
  tag: string;
  socketPath: string;
  volume: Volume;
  stop(): Promise<void>;
}

/**
 * Parses `HOST:GUEST[:ro|:rw]`: HOST made absolute against `cwd` (default the current directory),
 * GUEST an absolute path.
 */
export function parseVolume(text: string, cwd: string = process.cwd()): Volume {
  const parts = text.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new VmSpecError(`${JSON.stringify(text)} is not HOST:GUEST[:ro]`);
  }
  if (!parts[1].startsWith('/')) throw new VmSpecError(`${JSON.stringify(text)}: the guest path ${parts[1]} must be absolute`);
  return { host: resolve(cwd, parts[0]), guest: parts[1], readOnly: mode === 'ro' };
}

/** Checks the volumes before anything starts. */
export async function checkVolumes(volumes: Volume[]): Promise<void> {
  for (const v of volumes) {
    if (!isAbsolute(v.guest) || v.guest.replace(/\/+$/, '') === '') {
      throw new VmSpecError(`volume guest path "${v.guest}" must be an absolute path other than /`);
    }
    if (/[\n\r\0']/.test(v.guest) || /[\n\r\0]/.test(v.host)) throw new VmSpecError(`volume "${v.host}:${v.guest}" holds a character that paths here cannot`);
    if (!(await stat(v.host).then((s) => s.isDirectory(), () => false))) {
      throw new VmSpecError(`volume host path ${v.host} is not a directory: create it or fix the path`);
    }
  }
  if (volumes.length && !runningAsRoot()) await checkUnprivilegedSharing();
}

/**
 * Without root, virtiofsd runs in a user namespace that maps the user's subordinate ids, which
 * needs `newuidmap`/`newgidmap` and a range for this user in /etc/subuid and /etc/subgid.
 */
async function checkUnprivilegedSharing(): Promise<void> {
  const what = 'sharing host directories (-v) without root runs virtiofsd in a user namespace';
  try {
    findHostTool('newuidmap');
    findHostTool('newgidmap');
  } catch {
    throw new HostToolError(`${what}, which needs newuidmap and newgidmap: install the Debian package uidmap, or run as root, or drop the volumes`);
  }
  const { username, uid } = userInfo();
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const has = text.split('\n').some((line) => {
      const [owner, , count] = line.split(':');
      return (owner === username || owner === String(uid)) && Number(count) > 0;
    });
    if (!has) {
      throw new HostToolError(
        `${what}, which needs a subordinate id range for ${username} in ${file}: ` +
          `add one (sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${username}), or run as root, or drop the volumes`,
      );
    }
  }
}

/** Starts one virtiofsd per volume, each listening on a socket in `sockDir`; resolves when all listen. */
export async function startShares(volumes: Volume[], sockDir: string): Promise<Share[]> {
  const daemon = findVirtiofsd();
  const shares: Share[] = [];
  try {
    for (const [i, volume] of volumes.entries()) {
      const socketPath = join(sockDir, `fs${i}.sock`);
      const d = await startVirtiofsd({ source: volume.host, socketPath, readOnly: volume.readOnly ?? false, ids: 'all', cache: 'auto' }, daemon);
      shares.push({ tag: `bbox${i}`, socketPath, volume, stop: d.stop });
    }
  } catch (e) {
    await Promise.all(shares.map((s) => s.stop()));
    throw e;
  }
  return shares;
}
