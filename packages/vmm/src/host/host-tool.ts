/**
 * Finding and running the host programs the VM layer relies on (mkfs.ext4, debugfs, QEMU,
 * virtiofsd, ...) with clear failures. Debian puts several of them in directories that are not
 * on a normal user's PATH (`/usr/sbin`, `/sbin`, `/usr/libexec`, `/usr/lib/qemu`): those are
 * searched after PATH, so only a program that is really missing is reported as such.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { HostToolError } from '../errors.js';

/** Which Debian package ships each program, for the "install it" hint. */
const PACKAGE_OF: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  virtiofsd: 'qemu-system-common (comes with qemu-system-x86)',
  unshare: 'util-linux',
  newuidmap: 'uidmap',
  xz: 'xz-utils',
  zstd: 'zstd',
};

/** Searched after PATH: where Debian installs administration and helper programs. */
export const SYSTEM_TOOL_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/libexec', '/usr/lib/qemu'];

const found = new Map<string, string>();

/**
 * The absolute path of host program `name`: the first executable file of that name in PATH, then
 * in {@link SYSTEM_TOOL_DIRS}. A name with a slash is returned as it is. Throws
 * {@link HostToolError} naming the Debian package when the program is nowhere.
 */
export function findHostTool(name: string): string {
  if (name.includes('/')) return name;
  const path = process.env.PATH ?? '';
  const key = `${name}\0${path}`;
  const known = found.get(key);
  if (known) return known;
  const dirs = [...path.split(delimiter).filter((d) => d.startsWith('/')), ...SYSTEM_TOOL_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) {
      found.set(key, candidate);
      return candidate;
    }
  }
  throw missingTool(name);
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `cmd args` to completion; resolves with its stdout, throws HostToolError with its stderr on failure. */
export async function runHostTool(cmd: string, args: string[], opts: HostToolRunOptions = {}): Promise<string> {
  return (await runHostToolCapture(cmd, args, opts)).stdout;
}

export interface HostToolRunOptions {
  signal?: AbortSignal;
  /** Written to the program's stdin (default: no stdin). */
  input?: string | Buffer;
}

/** Like {@link runHostTool}, and resolves with stderr too (for programs that report problems there and still exit 0). */
export function runHostToolCapture(cmd: string, args: string[], opts: HostToolRunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(findHostTool(cmd), args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], signal: opts.signal });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => reject(toolError(cmd, e)));
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ stdout: out, stderr: err });
      else reject(new HostToolError(`${cmd} ${args.join(' ')} failed (${sig ?? `exit ${code}`}): ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
    if (child.stdin) {
      // A child that dies early closes its stdin; its exit status tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** The error for a program that could not be started. */
export function toolError(cmd: string, e: NodeJS.ErrnoException): HostToolError {
  if (e.code === 'ENOENT') return missingTool(cmd, e);
  return new HostToolError(`${cmd} could not be run: ${e.message}`, { cause: e });
}

function missingTool(cmd: string, cause?: Error): HostToolError {
  const name = cmd.slice(cmd.lastIndexOf('/') + 1);
  const pkg = PACKAGE_OF[name];
  const where = cmd.includes('/') ? cmd : `${name} (looked in PATH and ${SYSTEM_TOOL_DIRS.join(', ')})`;
  return new HostToolError(`${where} is not installed${pkg ? `: install the Debian package ${pkg}` : ''} (or run scripts/setup.sh)`, cause ? { cause } : undefined);
}
