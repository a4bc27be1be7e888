/**
 * Finding the command on the host, before boot, exactly as the guest's exec script would find it in
 * the same tree: the working directory, then argv[0] in the image's PATH (the first regular file with
 * an execute bit, symlinks followed inside the rootfs). When the host can tell, the guest runs the
 * command with one `nsenter` instead of a shell that looks it up: under TCG every process and every
 * line of shell costs milliseconds. A bare command that is certainly in no PATH directory gets the
 * script's own answer (exit 127) without a boot. When the host cannot tell (a missing working
 * directory the guest must make, paths under the guest's /proc, /sys or /dev, shared directories
 * that may hide or add files), the guest script decides.
 */
import { lstat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { resolveInRoot } from './rootfs-read.js';
import type { VmSpec } from './spec.js';

/** The command as found on the host: paths to hand to `nsenter` in the guest. */
export interface ResolvedLaunch {
  /** The working directory with every symlink resolved inside the rootfs (absolute guest path). */
  workDir: string;
  /** argv[0] as the guest's exec script would exec it (`$dir/$cmd` for a PATH lookup). */
  command: string;
}

/** Guest mount points: what the rootfs holds there is hidden in the guest, so nothing there is decided on the host. */
const MOUNTED = ['proc', 'sys', 'dev'];

/** The host path's guest path, or undefined when it lies under a mount point of the guest. */
function guestPath(root: string, host: string): string | undefined {
  const rel = relative(root, host).split(sep).filter(Boolean);
  if (rel.length > 0 && MOUNTED.includes(rel[0] as string)) return undefined;
  return '/' + rel.join('/');
}

async function isDir(host: string): Promise<boolean> {
  const st = await lstat(host).catch(() => undefined);
  return st?.isDirectory() ?? false;
}

/**
 * What `[ -f f ] && [ -x f ]` says of `guest` for root: `exec` for a regular file with an execute
 * bit; `hidden` when the path lies under a guest mount point, where the host cannot tell; else `no`.
 */
async function probe(root: string, guest: string): Promise<'exec' | 'no' | 'hidden'> {
  if (guestPath(root, join(root, guest)) === undefined) return 'hidden';
  const host = await resolveInRoot(root, guest);
  if (host === undefined) return 'no';
  if (guestPath(root, host) === undefined) return 'hidden';
  const st = await lstat(host).catch(() => undefined);
  return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0 ? 'exec' : 'no';
}

/** The value of the last `PATH=` entry of the environment ('' without one). */
function pathValue(env: string[]): string {
  return [...env].reverse().find((kv) => kv.startsWith('PATH='))?.slice(5) ?? '';
}

/** The PATH directories the shell's `for d in $PATH` (IFS=:) visits: empty fields kept, a trailing one dropped. */
function pathDirs(env: string[]): string[] {
  const path = pathValue(env);
  if (path === '') return [];
  const dirs = path.split(':');
  if (dirs[dirs.length - 1] === '') dirs.pop();
  return dirs;
}

/**
 * The host's verdict on `spec`'s command: `found` (run it with `nsenter`), `missing` (a bare name in
 * no PATH directory, for certain: the message and exit status the guest's exec script would give,
 * so no VM need boot to learn them), or `unknown` (the guest decides).
 */
export type CommandLookup =
  | { kind: 'found'; launch: ResolvedLaunch }
  | { kind: 'missing'; message: string; exitCode: number }
  | { kind: 'unknown' };

/**
 * Looks `spec`'s command up in `root` as the guest's exec script would (see the module comment);
 * shared directories are assumed absent. Never reads outside `root`.
 */
export async function lookupCommand(root: string, spec: VmSpec): Promise<CommandLookup> {
  const unknown: CommandLookup = { kind: 'unknown' };
  const wdHost = await resolveInRoot(root, spec.workingDir);
  if (wdHost === undefined || !(await isDir(wdHost))) return unknown;
  const workDir = guestPath(root, wdHost);
  if (workDir === undefined) return unknown;
  const cmd = spec.argv[0] as string;
  // Relative paths start at the (resolved) working directory, as they do for the guest shell; no
  // lexical clean-up, so `..` after a symlink goes where the kernel would take it.
  const inGuest = (p: string) => (p.startsWith('/') ? p : `${workDir}/${p}`);
  if (cmd.includes('/')) return (await probe(root, inGuest(cmd))) === 'exec' ? { kind: 'found', launch: { workDir, command: cmd } } : unknown;
  let hidden = false;
  for (const dir of pathDirs(spec.env)) {
    const candidate = `${dir}/${cmd}`;
    const found = await probe(root, inGuest(candidate));
    if (found === 'exec') return { kind: 'found', launch: { workDir, command: candidate } };
    hidden ||= found === 'hidden';
  }
  if (hidden) return unknown;
  return { kind: 'missing', message: `bbox: ${cmd}: not found in PATH (${pathValue(spec.env)})\n`, exitCode: 127 };
}
