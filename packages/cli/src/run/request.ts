import { ACCELERATORS, type AccelRequest } from '@broodbox/vmm/accelerators';
import type { Volume } from '@broodbox/vmm';
import { UsageError } from '../output/errors.js';
import { positiveDuration as parseDuration } from '../config/duration-value.js';
import type { VmConfig } from '../config/config-schema.js';
import type { RunFlags } from './command.js';

/** A host directory shared with the guest. */
export type VolumeMount = Required<Volume>;

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
  accel: AccelRequest;
  volumes: VolumeMount[];
  net: boolean;
  /** The host's stdin reaches the command. */
  interactive: boolean;
  /** The command runs on a terminal in the guest. */
  tty: boolean;
  kernel: string | undefined;
  modules: string | undefined;
  kernelImage: string | undefined;
}

/** The option values the request is made of (all of `bbox run`'s but those of the settings). */
export type RunRequestFlags = Pick<RunFlags, 'ref' | 'command' | 'cpus' | 'memory' | 'env' | 'workdir' | 'user' | 'timeout' | 'accel' | 'volumes' | 'net' | 'interactive' | 'tty'>;

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

/** `-v HOST:GUEST[:ro]` through the VM layer's parser (the one home of that syntax). */
function parseVolume(parse: (text: string, cwd: string) => Volume, spec: string, cwd: string): VolumeMount {
  try {
    const v = parse(spec, cwd);
    return { host: v.host, guest: v.guest, readOnly: v.readOnly ?? false };
  } catch (err) {
    throw new UsageError(`-v: ${(err as Error).message}`, 'for example -v ./src:/work:ro');
  }
}

function parseTimeout(value: string): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v) && Number(v) > 0) return Math.round(Number(v) * 1000);
  const ms = parseDuration(v);
  if (ms === undefined) throw new UsageError(`--timeout: ${JSON.stringify(value)} is not a duration; use seconds (e.g. 30) or a number with a unit (90s, 5m, 1h)`);
  return ms;
}

function parseAccel(value: string | undefined, fromConfig: VmConfig['accel']): RunRequest['accel'] {
  if (value === undefined) return fromConfig ?? 'auto';
  if ((ACCELERATORS as readonly string[]).includes(value)) return value as RunRequest['accel'];
  throw new UsageError(`--accel: ${JSON.stringify(value)} is not an accelerator; use one of ${ACCELERATORS.join(', ')}`);
}

/**
 * Validates `bbox run`'s options; the config's `vm` section fills what the flags leave out.
 * `parseVolume` is the VM layer's (passed in so that this module loads without it).
 */
export function parseRunRequest(
  flags: RunRequestFlags,
  vm: VmConfig,
  ctx: { cwd: string; env: NodeJS.ProcessEnv; parseVolume: (text: string, cwd: string) => Volume },
): RunRequest {
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
    volumes: (flags.volumes ?? []).map((v) => parseVolume(ctx.parseVolume, v, ctx.cwd)),
    net: flags.net ?? false,
    interactive: flags.interactive ?? false,
    tty: flags.tty ?? false,
    kernel: vm.kernel,
    modules: vm.modules,
    kernelImage: vm.kernelImage,
  };
}
