/**
 * Finding the command on the host, before boot, exactly as the guest's exec script would find it in
 * the same tree: the working directory, then argv[0] in the image's PATH (the first regular file with
 * an execute bit, symlinks followed inside the rootfs). When the host can tell, the guest runs the
 * command with one `nsenter` instead of a shell that looks it up: under TCG every process and every
 * line of shell costs milliseconds. When it cannot (a missing working directory the guest must make,
 * a command not found, shared directories that may hide or add files), the guest script decides.
 */
import { lstat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
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

/** A regular file with an execute bit: what `[ -f f ] && [ -x f ]` accepts for root. */
async function isExecutable(root: string, guest: string): Promise<boolean> {
  const host = await resolveInRoot(root, guest);
  if (host === undefined || guestPath(root, host) === undefined) return false;
  const st = await lstat(host).catch(() => undefined);
  return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0;
}

/** The PATH directories the shell's `for d in $PATH` (IFS=:) visits: empty fields kept, a trailing one dropped. */
function pathDirs(env: string[]): string[] {
  const path = [...env].reverse().find((kv) => kv.startsWith('PATH='))?.slice(5) ?? '';
  if (path === '') return [];
  const dirs = path.split(':');
  if (dirs[dirs.length - 1] === '') dirs.pop();
  return dirs;
}

/**
 * Where the guest would find `spec`'s command in `root`; undefined when the guest must decide
 * (see the module comment). Never reads outside `root`.
 */
export async function resolveLaunch(root: string, spec: VmSpec): Promise<ResolvedLaunch | undefined> {
  const wdHost = await resolveInRoot(root, spec.workingDir);
  if (wdHost === undefined || !(await isDir(wdHost))) return undefined;
  const workDir = guestPath(root, wdHost);
  if (workDir === undefined) return undefined;
  const cmd = spec.argv[0] as string;
  // Relative paths start at the (resolved) working directory, as they do for the guest shell; no
  // lexical clean-up, so `..` after a symlink goes where the kernel would take it.
  const inGuest = (p: string) => (p.startsWith('/') ? p : `${workDir}/${p}`);
  if (cmd.includes('/')) return (await isExecutable(root, inGuest(cmd))) ? { workDir, command: cmd } : undefined;
  for (const dir of pathDirs(spec.env)) {
    const candidate = `${dir}/${cmd}`;
    if (await isExecutable(root, inGuest(candidate))) return { workDir, command: candidate };
  }
  return undefined;
}
