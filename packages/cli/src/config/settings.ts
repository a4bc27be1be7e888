import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../output/errors.js';
import { loadConfigLayers, mergeConfigs, valueChecks, type ConfigLayer } from './config-files.js';
import { displayPath } from '../output/display-path.js';
import type { RegistriesConfig } from 'oci-client-lite';
import { resolveRegistryCache, type RegistryCacheSettings } from '../registry-cache/settings.js';
import type { ProxyConfig, VmConfig } from './config-schema.js';

/** Values given on the command line (undefined: not given). */
export interface SettingFlags {
  pull?: string | undefined;
  /** How the policy was spelled on the command line, for messages (default `--pull`). */
  pullFlag?: '--pull' | '--no-pull' | undefined;
  cacheDir?: string | undefined;
  config?: string | undefined;
  platform?: string | undefined;
  noRegistryCache?: boolean | undefined;
}

/** A setting's value and where it came from (for messages). */
export interface Sourced<T> {
  value: T;
  source: string;
}

/** Everything a command needs, after flag > env > project > global > default. */
export interface Settings {
  pull: Sourced<string>;
  /** Undefined: the library's default ($XDG_CACHE_HOME/broodbox/images). */
  cacheDir: Sourced<string> | undefined;
  platform: Sourced<string> | undefined;
  registries: RegistriesConfig;
  noRegistryCache: Sourced<boolean>;
  /** The default pull-through caches (off with noRegistryCache too). */
  registryCache: RegistryCacheSettings;
  /** `image.noImageCache` from the config (`bbox run`'s `--no-image-cache` wins when given). */
  noImageCache: boolean;
  cacheMaxAge: number | undefined;
  cacheMaxBytes: number | undefined;
  vm: VmConfig;
  /** The config's `proxy` (it replaces the proxy environment variables); undefined: the environment's. */
  proxy: ProxyConfig | undefined;
  /** Config files that were loaded, lowest precedence first. */
  layers: ConfigLayer[];
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off', ''];

function envBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return v === '' ? undefined : false;
  throw new ConfigError(`${name}: ${JSON.stringify(value)} is not a boolean; use true or false (or 1/0, yes/no)`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

function lastFrom<T>(layers: ConfigLayer[], pick: (l: ConfigLayer) => T | undefined): Sourced<T> | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const v = pick(layers[i]!);
    if (v !== undefined) return { value: v, source: displayPath(layers[i]!.file) };
  }
  return undefined;
}

/** Validates a pull policy given on the command line or in the environment. */
export async function checkPullPolicy(value: string, source: string): Promise<string> {
  const checks = await valueChecks();
  if (checks.isPullPolicy(value)) return value;
  const { pullPolicyProblem } = await import('./config-schema.js');
  const message = `${source}: ${JSON.stringify(value)} is not a pull policy${pullPolicyProblem(value, checks.pullPolicies)}`;
  throw source.startsWith('--') ? new UsageError(message) : new ConfigError(message);
}

async function checkPlatform(value: string, source: string): Promise<string> {
  const checks = await valueChecks();
  if (checks.isPlatform(value)) return value;
  throw new UsageError(`${source}: ${JSON.stringify(value)} is not a platform; use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
}

async function resolvePull(flags: SettingFlags, env: NodeJS.ProcessEnv, layers: ConfigLayer[]): Promise<Sourced<string>> {
  const flag = flags.pullFlag ?? '--pull';
  if (flags.pull !== undefined) return { value: await checkPullPolicy(flags.pull, flag), source: flag };
  const fromEnv = nonEmpty(env.BBOX_PULL);
  if (fromEnv !== undefined) return { value: await checkPullPolicy(fromEnv, 'BBOX_PULL'), source: 'BBOX_PULL' };
  return lastFrom(layers, (l) => l.config.image?.pull) ?? { value: 'if-not-present', source: 'default' };
}

function resolveCacheDir(flags: SettingFlags, env: NodeJS.ProcessEnv, cwd: string, layers: ConfigLayer[]): Sourced<string> | undefined {
  if (flags.cacheDir !== undefined) {
    if (flags.cacheDir.trim() === '') throw new UsageError('--cache-dir: the directory must not be empty');
    return { value: resolve(cwd, flags.cacheDir), source: '--cache-dir' };
  }
  const fromEnv = nonEmpty(env.BBOX_CACHE_DIR);
  if (fromEnv !== undefined) return { value: resolve(cwd, fromEnv), source: 'BBOX_CACHE_DIR' };
  return lastFrom(layers, (l) => l.config.cache?.dir);
}

/** Resolves every setting: flag > environment > project config > global config > default. */
export async function resolveSettings(flags: SettingFlags, ctx: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Settings> {
  const layers = await loadConfigLayers({ cwd: ctx.cwd, env: ctx.env, configFile: flags.config });
  const merged = mergeConfigs(layers.map((l) => l.config));
  const noCacheEnv = envBoolean('BBOX_DISABLE_REGISTRY_CACHE', ctx.env.BBOX_DISABLE_REGISTRY_CACHE);
  const noRegistryCache: Sourced<boolean> = flags.noRegistryCache
    ? { value: true, source: '--no-registry-cache' }
    : noCacheEnv !== undefined
      ? { value: noCacheEnv, source: 'BBOX_DISABLE_REGISTRY_CACHE' }
      : { value: false, source: 'default' };
  const platform = flags.platform !== undefined
    ? { value: await checkPlatform(flags.platform, '--platform'), source: '--platform' }
    : lastFrom(layers, (l) => l.config.image?.platform);
  return {
    pull: await resolvePull(flags, ctx.env, layers),
    cacheDir: resolveCacheDir(flags, ctx.env, ctx.cwd, layers),
    platform,
    registries: merged.registries ?? {},
    noRegistryCache,
    registryCache: resolveRegistryCache(noRegistryCache, ctx.env, merged.registryCache, layers),
    noImageCache: merged.image?.noImageCache ?? false,
    cacheMaxAge: merged.cache?.maxAge,
    cacheMaxBytes: merged.cache?.maxBytes,
    vm: merged.vm ?? {},
    proxy: merged.proxy,
    layers,
  };
}
