import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../output/errors.js';
import { displayPath } from '../output/display-path.js';
import type { RegistriesConfig } from 'oci-client-lite';
import type { ConfigFile, ValueChecks } from './config-schema.js';

/** Where a config layer came from. */
export type ConfigScope = 'global' | 'project' | 'flag';

/** One loaded config file. */
export interface ConfigLayer {
  scope: ConfigScope;
  file: string;
  config: ConfigFile;
}

/** `$XDG_CONFIG_HOME/broodbox/config.yaml`, default `~/.config/broodbox/config.yaml`. */
export function globalConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config');
  return join(base, 'broodbox', 'config.yaml');
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

async function parseYaml(file: string, content: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(content, { uniqueKeys: true, prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `:${pos.line}:${pos.col}` : '';
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new ConfigError(`${displayPath(file)}${where}: not valid YAML: ${what}`, 'fix the YAML syntax (indentation with spaces, "key: value" pairs)');
  }
  return doc.toJS();
}

async function readConfigFile(file: string): Promise<unknown> {
  const { loadConfigText } = await import('./config-search.js');
  try {
    return await loadConfigText(file, parseYaml);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new ConfigError(`${displayPath(file)}: no such config file`, 'check the path given to --config');
    if (code === 'EISDIR') throw new ConfigError(`${displayPath(file)}: is a directory, not a config file`);
    if (code === 'EACCES') throw new ConfigError(`${displayPath(file)}: cannot read the config file (permission denied)`);
    throw new ConfigError(`${displayPath(file)}: cannot load the config file: ${(err as Error).message}`);
  }
}

async function libraryChecks(): Promise<ValueChecks> {
  // The platform parser alone, not the whole registry client: a pull answered from the cache never loads it.
  const [{ parsePullPolicy, PULL_POLICY_VALUES }, { parsePlatform }, { positiveDuration }] = await Promise.all([
    import('@broodbox/image'),
    import('oci-client-lite/platform'),
    import('./duration-value.js'),
  ]);
  const ok = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  return { isPullPolicy: (s) => ok(() => parsePullPolicy(s)), isPlatform: (s) => ok(() => parsePlatform(s)), duration: positiveDuration, pullPolicies: PULL_POLICY_VALUES };
}

let checksPromise: Promise<ValueChecks> | undefined;

/** The value checks backed by the image library, loaded once and only when needed. */
export function valueChecks(): Promise<ValueChecks> {
  checksPromise ??= libraryChecks();
  return checksPromise;
}

/** For a file that sets nothing the library must check: the validator never asks. */
const NO_CHECKS: ValueChecks = { isPullPolicy: () => false, isPlatform: () => false, duration: () => undefined, pullPolicies: [] };

/** Reads, parses and validates one config file. */
export async function loadConfigFile(file: string, scope: ConfigScope, env: NodeJS.ProcessEnv = process.env): Promise<ConfigLayer> {
  const { memoKey, recall, remember } = await import('./config-memo.js');
  let key: string | undefined;
  try {
    key = memoKey(file, readFileSync(file));
    const known = recall(key, env);
    if (known) return { scope, file, config: known };
  } catch {
    // Unreadable: the full load below reports why.
  }
  const raw = await readConfigFile(file);
  const { needsLibraryChecks, validateConfig } = await import('./config-schema.js');
  const checks: ValueChecks = needsLibraryChecks(raw) ? await valueChecks() : NO_CHECKS;
  const config = validateConfig(raw, file, dirname(file), checks);
  if (key) remember(key, config, env);
  return { scope, file, config };
}

function mergeRegistries(a: RegistriesConfig = {}, b: RegistriesConfig = {}): RegistriesConfig {
  const out: RegistriesConfig = { ...a };
  for (const [host, entry] of Object.entries(b)) out[host] = { ...out[host], ...entry };
  return out;
}

/** Merges config layers, later ones winning key by key (a registry host's fields merge too). */
export function mergeConfigs(layers: ConfigFile[]): ConfigFile {
  const out: ConfigFile = {};
  for (const c of layers) {
    if (c.image) out.image = { ...out.image, ...c.image };
    if (c.cache) out.cache = { ...out.cache, ...c.cache };
    if (c.vm) out.vm = { ...out.vm, ...c.vm };
    if (c.registries) out.registries = mergeRegistries(out.registries, c.registries);
    if (c.registryCache) out.registryCache = { ...out.registryCache, ...c.registryCache };
    if (c.proxy) out.proxy = c.proxy;
  }
  return out;
}

/** Where to look for config, from the command line and environment. */
export interface ConfigSearch {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--config FILE`: used instead of the project file found from `cwd`. */
  configFile?: string | undefined;
}

/**
 * Loads the global config and the project config (or the `--config` file), lowest precedence
 * first. The project file is the nearest of PROJECT_CONFIG_FILES from the working directory up to
 * the home directory (cosmiconfig's search). Files that do not exist are skipped without loading
 * any parser.
 */
export async function loadConfigLayers(search: ConfigSearch): Promise<ConfigLayer[]> {
  const wanted: Array<{ file: string; scope: ConfigScope }> = [];
  const global = globalConfigPath(search.env);
  if (isFile(global)) wanted.push({ file: global, scope: 'global' });
  if (search.configFile) wanted.push({ file: resolve(search.cwd, search.configFile), scope: 'flag' });
  else {
    const { findProjectConfig } = await import('./config-search.js');
    const project = await findProjectConfig(search.cwd);
    if (project && project !== global) wanted.push({ file: project, scope: 'project' });
  }
  return Promise.all(wanted.map((w) => loadConfigFile(w.file, w.scope, search.env)));
}
