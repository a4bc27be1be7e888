/** Running the host programs the VM layer relies on (qemu-img, mkfs.ext4, ...) with clear failures. */
import { spawn } from 'node:child_process';
import { HostToolError } from './errors.js';

/** Which Debian package ships each program, for the "install it" hint. */
const PACKAGE_OF: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  'mkfs.ext4': 'e2fsprogs',
};

/** Runs `cmd args` to completion; resolves with its stdout, throws HostToolError with its stderr on failure. */
export function runHostTool(cmd: string, args: string[], opts: { signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => reject(toolError(cmd, e)));
    child.on('close', (code, sig) => {
      if (code === 0) resolve(out);
      else reject(new HostToolError(`${cmd} ${args.join(' ')} failed (${sig ?? `exit ${code}`}): ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/** The error for a program that could not be started. */
export function toolError(cmd: string, e: NodeJS.ErrnoException): HostToolError {
  if (e.code === 'ENOENT') {
    const pkg = PACKAGE_OF[cmd];
    return new HostToolError(`${cmd} is not installed${pkg ? `: install the Debian package ${pkg}` : ''} (or run scripts/setup.sh)`, { cause: e });
  }
  return new HostToolError(`${cmd} could not be run: ${e.message}`, { cause: e });
}
