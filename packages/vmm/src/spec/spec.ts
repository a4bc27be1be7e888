/**
 * The VM spec: what to run and how, from the image config plus the caller's overrides, following
 * container conventions (Entrypoint + Cmd, image Env then overrides, WorkingDir, User).
 */
import type { ImageConfig } from 'oci-client-lite';
import { NoCommandError, VmSpecError } from '../errors.js';
import { resolveUser } from './users.js';

/** Everything the guest needs to run the command. */
export interface VmSpec {
  /** argv[0] and its arguments. A bare argv[0] is looked up in the guest's PATH. */
  argv: string[];
  /** `KEY=value` strings, in order, keys unique. */
  env: string[];
  /** Absolute working directory in the guest (created when missing). */
  workingDir: string;
  uid: number;
  gid: number;
  cpus: number;
  memoryMiB: number;
  /** Wall-clock limit in ms; undefined for none. */
  timeoutMs?: number;
}

/** Caller's overrides, all optional. */
export interface VmSpecOverrides {
  /** Replaces the image's Entrypoint; like `docker run --entrypoint`, it also drops the image's Cmd unless `cmd` is given. */
  entrypoint?: string[];
  /** Replaces the image's Cmd. */
  cmd?: string[];
  /** Added after the image's Env; a key given here replaces the image's value. */
  env?: Record<string, string> | string[];
  workingDir?: string;
  /** `uid`, `uid:gid`, `name` or `name:group` (names are looked up in the rootfs). */
  user?: string;
  /** Virtual CPUs (default 1). */
  cpus?: number;
  /** Guest memory in MiB (default 512). */
  memoryMiB?: number;
  /** Seconds before the VM is stopped (default: none). */
  timeoutSeconds?: number;
}

/** Default PATH when the image sets none (the one container runtimes use). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_MEMORY_MIB = 512;
const MIN_MEMORY_MIB = 128;
const MAX_MEMORY_MIB = 1 << 20;
const MAX_CPUS = 64;

/**
 * Builds the VM spec for an image. `rootfsPath` is read (never written) to resolve a user name and
 * the home directory; symlinks in it are followed only inside it.
 */
export async function buildVmSpec(
  config: ImageConfig,
  overrides: VmSpecOverrides = {},
  rootfsPath?: string,
): Promise<VmSpec> {
  const image = config.config ?? {};
  const argv = commandLine(image.Entrypoint ?? undefined, image.Cmd ?? undefined, overrides);
  const user = rootfsPath === undefined ? numericUser(overrides.user ?? image.User) : await resolveUser(rootfsPath, overrides.user ?? image.User);
  const env = mergeEnv(image.Env ?? [], overrides.env);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', user.home || (user.uid === 0 ? '/root' : '/'));
  const spec: VmSpec = {
    argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    workingDir: workingDir(overrides.workingDir ?? image.WorkingDir),
    uid: user.uid,
    gid: user.gid,
    cpus: checkInt('cpus', overrides.cpus ?? 1, 1, MAX_CPUS),
    memoryMiB: checkInt('memory (MiB)', overrides.memoryMiB ?? DEFAULT_MEMORY_MIB, MIN_MEMORY_MIB, MAX_MEMORY_MIB),
  };
  if (overrides.timeoutSeconds !== undefined) {
    const s = overrides.timeoutSeconds;
    if (!Number.isFinite(s) || s <= 0) throw new VmSpecError(`timeout ${s} is not valid: give a number of seconds greater than 0`);
    spec.timeoutMs = Math.round(s * 1000);
  }
  for (const s of [...spec.argv, ...spec.env, spec.workingDir]) {
    if (s.includes('\0')) throw new VmSpecError(`"${s.replace(/\0/g, '\\0')}" contains a NUL byte, which no argument, variable or path can hold`);
  }
  return spec;
}

function commandLine(entrypoint: string[] | undefined, cmd: string[] | undefined, o: VmSpecOverrides): string[] {
  const entry = o.entrypoint ?? entrypoint ?? [];
  const args = o.cmd ?? (o.entrypoint !== undefined ? [] : cmd ?? []);
  const argv = [...entry, ...args];
  if (argv.length === 0 || argv[0] === '') throw new NoCommandError();
  return argv;
}

function mergeEnv(image: string[], extra: VmSpecOverrides['env']): Map<string, string> {
  const env = new Map<string, string>();
  const add = (k: string, v: string): void => {
    if (k === '' || k.includes('=')) throw new VmSpecError(`environment variable name "${k}" is not valid: use KEY=value with a non-empty KEY`);
    env.set(k, v);
  };
  for (const kv of image) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  if (Array.isArray(extra)) {
    for (const kv of extra) {
      const i = kv.indexOf('=');
      if (i < 0) throw new VmSpecError(`environment entry "${kv}" is not valid: use KEY=value`);
      add(kv.slice(0, i), kv.slice(i + 1));
    }
  } else if (extra) {
    for (const [k, v] of Object.entries(extra)) add(k, v);
  }
  return env;
}

function workingDir(dir: string | undefined): string {
  if (!dir) return '/';
  const abs = dir.startsWith('/') ? dir : `/${dir}`;
  return abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
}

function numericUser(spec: string | undefined): { uid: number; gid: number; home?: string } {
  const m = /^(\d+)(?::(\d+))?$/.exec((spec ?? '').trim());
  if ((spec ?? '').trim() === '') return { uid: 0, gid: 0 };
  if (!m) throw new VmSpecError(`user "${spec}" needs the image's rootfs to resolve: pass rootfsPath or use uid[:gid]`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

function checkInt(what: string, n: number, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new VmSpecError(`${what} ${n} is not valid: use a whole number from ${min} to ${max}`);
  return n;
}
