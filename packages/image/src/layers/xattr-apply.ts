import { spawn } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { XattrApplyError } from '../errors/xattr-errors.js';
import type { XattrMap } from './xattr-policy.js';

/** A path to give extended attributes to. */
export interface XattrTarget {
  /** Absolute path, made by bbox itself (a store file, or a rootfs directory or symlink). */
  path: string;
  xattrs: XattrMap;
  /** Its permission bits: without owner write, a non-root owner may not set `user.*` names. */
  mode?: number;
}

/** A warning a pull reports without failing (see `PullStats.warnings`). */
export interface XattrWarning {
  code: 'XATTR_TOOL_MISSING';
  message: string;
}

/** The program that sets extended attributes (Debian package `attr`); `BBOX_SETFATTR` names another. */
const setfattr = () => process.env.BBOX_SETFATTR ?? 'setfattr';
/** Bytes of setfattr's error output kept for the error message. */
const STDERR_KEEP = 4096;

const probes = new Map<string, Promise<boolean>>();

/** Whether `setfattr` can be run (checked once per process). */
export function setfattrAvailable(): Promise<boolean> {
  const program = setfattr();
  let probe = probes.get(program);
  if (!probe) {
    probe = new Promise<boolean>((resolve) => {
      const child = spawn(program, ['--version'], { stdio: 'ignore' });
      child.on('error', () => resolve(false));
      child.on('exit', (code) => resolve(code === 0));
    });
    probes.set(program, probe);
  }
  return probe;
}

/** The warning a pull reports when a layer has extended attributes and `setfattr` is missing. */
export function missingToolWarning(): XattrWarning {
  return {
    code: 'XATTR_TOOL_MISSING',
    message:
      'the image has extended attributes (such as file capabilities) but setfattr is not installed, so the rootfs ' +
      'has none; install the attr package, then remove the image from the cache and pull it again',
  };
}

/**
 * Sets extended attributes with one `setfattr --restore` process for the whole batch (never
 * one per file). `-h` makes it act on symlinks themselves, never on what they point at; every
 * path is one bbox made, and every byte of a path is escaped, so no name in an image can steer
 * it. A failure of any path fails the batch.
 */
export async function applyXattrs(targets: XattrTarget[], opts: { root: boolean }): Promise<void> {
  if (targets.length === 0) return;
  // The owner needs write permission for user.* names; root has CAP_FOWNER.
  const locked = opts.root ? [] : targets.filter((t) => t.mode !== undefined && (t.mode & 0o200) === 0);
  for (const t of locked) await chmod(t.path, t.mode! | 0o200);
  try {
    await runSetfattr(restoreScript(targets));
  } finally {
    for (const t of locked) await chmod(t.path, t.mode!);
  }
}

/** The restore format of getfattr/setfattr: `# file: <path>` then `name=0x<hex>` lines. */
export function restoreScript(targets: XattrTarget[]): Buffer {
  const parts: Buffer[] = [];
  for (const t of targets) {
    parts.push(Buffer.from(`# file: ${escapePath(t.path)}\n`, 'latin1'));
    for (const [name, value] of Object.entries(t.xattrs)) {
      parts.push(Buffer.from(`${name}=0x${Buffer.from(value, 'base64').toString('hex')}\n`, 'latin1'));
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Every byte but a few safe ASCII ones as `\ooo`, the escape setfattr undoes in file names. */
export function escapePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9/._+-]/.test(c) ? c : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}

function runSetfattr(script: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const program = setfattr();
    const child = spawn(program, ['-h', '--restore=-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < STDERR_KEEP) stderr += s;
    });
    child.on('error', (err) => reject(new XattrApplyError(`cannot run ${program} (${err.message}); install the attr package`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new XattrApplyError(`${program} exited with ${String(code)}: ${stderr.trim().split('\n').slice(0, 3).join('; ')}`));
    });
    // A child that dies early closes its stdin; its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}
