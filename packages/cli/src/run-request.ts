import { resolve } from 'node:path';
import { UsageError } from './output/errors.js';
import { positiveDuration as parseDuration } from './config/duration-value.js';
import type { VmConfig } from './config/config-schema.js';

/** A host directory shared with the guest. */
export interface VolumeMount {
  host: string;
  guest: string;
  readOnly: boolean;
}

/** Everything `bbox run` was asked to do, validated. */
export interface RunRequest {
  ref: string;
  /** Replaces the image's CMD (the entrypoint stays) when non-empty. */
  command: string[];
  cpus: number | undefined;
  /** MiB. */
  memory: number | undefined;
  env: Array<[string, string]>;
  workdir: string | undefined;
  user: string | undefined;
  /** Milliseconds. */
  timeout: number | undefined;
  accel: 'auto' | 'kvm' | 'tcg';
  volumes: VolumeMount[];
  net: boolean;
  kernel: string | undefined;
  modules: string | undefined;
  kernelImage: string | undefined;
}

/** The raw option values of `bbox run`. */
export interface RunFlags {
  ref: string;
  command: string[];
  cpus?: string | undefined;
  memory?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  timeout?: string | undefined;
  accel?: string | undefined;
  volumes?: string[] | undefined;
  net?: boolean | undefined;
}

function positiveInt(flag: string, value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not ${what}; use a whole number greater than 0`);
  return Number(value);
}

function parseEnv(items: string[], hostEnv: NodeJS.ProcessEnv): Array<[string, string]> {
  return items.map((item) => {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`-e: ${JSON.stringify(item)} is not KEY=VALUE; a key is letters, digits and _ and does not start with a digit`);
    if (eq >= 0) return [key, item.slice(eq + 1)];
    const inherited = hostEnv[key];
    if (inherited === undefined) throw new UsageError(`-e ${key}: ${key} is not set here, so there is no value to pass`, `write -e ${key}=VALUE`);
    return [key, inherited];
  });
}

function parseVolume(spec: string, cwd: string): VolumeMount {
  const parts = spec.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError(`-v: ${JSON.stringify(spec)} is not HOST:GUEST[:ro]`, 'for example -v ./src:/work:ro');
  }
  if (!parts[1].startsWith('/')) throw new UsageError(`-v: ${JSON.stringify(spec)}: the guest path ${parts[1]} must be absolute`);
  return { host: resolve(cwd, parts[0]), guest: parts[1], readOnly: mode === 'ro' };
}

function parseTimeout(value: string): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v) && Number(v) > 0) return Math.round(Number(v) * 1000);
  const ms = parseDuration(v);
  if (ms === undefined) throw new UsageError(`--timeout: ${JSON.stringify(value)} is not a duration; use seconds (e.g. 30) or a number with a unit (90s, 5m, 1h)`);
  return ms;
}

const ACCELS = ['auto', 'kvm', 'tcg'] as const;

function parseAccel(value: string | undefined, fromConfig: VmConfig['accel']): RunRequest['accel'] {
  if (value === undefined) return fromConfig ?? 'auto';
  if ((ACCELS as readonly string[]).includes(value)) return value as RunRequest['accel'];
  throw new UsageError(`--accel: ${JSON.stringify(value)} is not an accelerator; use one of ${ACCELS.join(', ')}`);
}

/** Validates `bbox run`'s options; the config's `vm` section fills what the flags leave out. */
export function parseRunRequest(flags: RunFlags, vm: VmConfig, ctx: { cwd: string; env: NodeJS.ProcessEnv }): RunRequest {
  return {
    ref: flags.ref,
    command: flags.command,
    cpus: flags.cpus !== undefined ? positiveInt('--cpus', flags.cpus, 'a CPU count') : vm.cpus,
    memory: flags.memory !== undefined ? positiveInt('--memory', flags.memory, 'a memory size in MiB') : vm.memory,
    env: parseEnv(flags.env ?? [], ctx.env),
    workdir: flags.workdir,
    user: flags.user,
    timeout: flags.timeout !== undefined ? parseTimeout(flags.timeout) : undefined,
    accel: parseAccel(flags.accel, vm.accel),
    volumes: (flags.volumes ?? []).map((v) => parseVolume(v, ctx.cwd)),
    net: flags.net ?? false,
    kernel: vm.kernel,
    modules: vm.modules,
    kernelImage: vm.kernelImage,
  };
}
