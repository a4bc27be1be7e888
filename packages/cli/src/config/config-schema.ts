import { ACCELERATORS, type AccelRequest } from '@broodbox/vmm/accelerators';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../output/errors.js';
import { displayPath } from '../output/display-path.js';
import { didYouMean } from '../output/did-you-mean.js';
import { parseByteSize, BYTE_SIZE_FORMS } from '../output/byte-size.js';
import type { MirrorConfig, RegistriesConfig, RegistryConfig } from 'oci-client-lite';

/** VM settings used by `bbox run`. */
export interface VmConfig {
  kernel?: string;
  modules?: string;
  kernelImage?: string;
  cpus?: number;
  /** MiB. */
  memory?: number;
  accel?: AccelRequest;
}

/** `registryCache:` — `false`/`true`, or a mapping (see docs/mirrors.md). */
export interface RegistryCacheConfig {
  /** `false`: no registry cache is started or used. */
  enabled?: boolean;
  /** Registry name → upstream URL; replaces the default list (docker.io, ghcr.io, quay.io). */
  upstreams?: Record<string, string>;
  /** Also use a cache for registries the docker config has credentials for. */
  useWhenLoggedIn?: boolean;
}

/** A validated config file, paths made absolute, durations in ms, sizes in bytes. */
export interface ConfigFile {
  image?: { pull?: string; platform?: string; noImageCache?: boolean };
  /** The registry client's own settings type: what is validated here is handed to it as is. */
  registries?: RegistriesConfig;
  registryCache?: RegistryCacheConfig;
  cache?: { dir?: string; maxAge?: number; maxBytes?: number };
  vm?: VmConfig;
  /** Forward proxies; replaces HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment. */
  proxy?: ProxyConfig;
}

/** The `proxy` key: one URL for both schemes, or per scheme with a no-proxy list. */
export interface ProxyConfig {
  https?: string;
  http?: string;
  noProxy?: string;
}

/**
 * Checks that need the image library (or the registry client), injected so that this module
 * stays light: the library is loaded only for a file that sets one of these values.
 */
export interface ValueChecks {
  isPullPolicy(value: string): boolean;
  isPlatform(value: string): boolean;
  /** Milliseconds (greater than 0), or undefined when the text is not a duration. */
  duration(value: string): number | undefined;
  /** The pull policies' canonical spellings, for messages (the library's list). */
  pullPolicies: readonly string[];
}

/** The accepted duration forms, for messages. */
export const DURATION_FORMS = 'a number with a unit: ms, s, m, h, d, w (e.g. 90m, 24h, 7d, 1d12h)';

/** Why a value is not a pull policy, and what to write instead (after `"value" is not a pull policy`). */
export function pullPolicyProblem(value: string, policies: readonly string[]): string {
  if (/^max-age=/i.test(value.trim())) return `: its duration is not valid; use max-age=<duration> with ${DURATION_FORMS.replace('a number with a unit', 'a number and a unit')}`;
  const near = didYouMean(value, policies.filter((p) => !p.includes('<')));
  return `${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; use one of ${policies.join(', ')}`;
}


type Raw = Record<string, unknown>;

class Validator {
  constructor(
    private readonly file: string,
    private readonly baseDir: string,
    private readonly checks: ValueChecks,
  ) {}

  fail(key: string, message: string): never {
    throw new ConfigError(`${displayPath(this.file)}: ${key}: ${message}`);
  }

  bad(key: string, value: unknown, what: string, allowed: string, suggestion?: string): never {
    const also = suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : '';
    return this.fail(key, `${JSON.stringify(value)} is not ${what}${also}; use ${allowed}`);
  }

  mapping(key: string, value: unknown, allowed: readonly string[] | undefined): Raw {
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      const keys = allowed ? ` with keys ${allowed.join(', ')}` : '';
      return this.fail(key || '(top level)', `expected a mapping${keys}, got ${JSON.stringify(value)}`);
    }
    const obj = value as Raw;
    if (allowed) {
      for (const k of Object.keys(obj)) {
        if (allowed.includes(k)) continue;
        const path = key ? `${key}.${k}` : k;
        const near = didYouMean(k, allowed);
        const hint = near ? `did you mean ${key ? `${key}.${near}` : near}? ` : '';
        this.fail(path, `unknown key; ${hint}allowed${key ? ` under ${key}` : ' at the top level'}: ${allowed.join(', ')}`);
      }
    }
    return obj;
  }

  string(key: string, value: unknown, what = 'a string', allowed = 'a non-empty string'): string {
    if (typeof value !== 'string' || value.trim() === '') return this.bad(key, value, what, allowed);
    return value;
  }

  bool(key: string, value: unknown): boolean {
    if (typeof value !== 'boolean') return this.bad(key, value, 'a boolean', 'true or false');
    return value;
  }

  positiveInt(key: string, value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return this.bad(key, value, what, 'a whole number greater than 0');
    return value;
  }

  path(key: string, value: unknown): string {
    const s = this.string(key, value, 'a path', 'a file or directory path (relative paths start at the config file)');
    if (s === '~') return homedir();
    if (s.startsWith('~/')) return resolve(homedir(), s.slice(2));
    return isAbsolute(s) ? s : resolve(this.baseDir, s);
  }

  pullPolicy(key: string, value: unknown): string {
    if (typeof value === 'string' && this.checks.isPullPolicy(value)) return value;
    if (typeof value !== 'string') return this.bad(key, value, 'a pull policy', `one of ${this.checks.pullPolicies.join(', ')}`);
    return this.fail(key, `${JSON.stringify(value)} is not a pull policy${pullPolicyProblem(value, this.checks.pullPolicies)}`);
  }

  platform(key: string, value: unknown): string {
    if (typeof value === 'string' && this.checks.isPlatform(value)) return value;
    return this.bad(key, value, 'a platform', 'os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8');
  }

  url(key: string, value: unknown): string {
    const allowed = 'an http:// or https:// URL, e.g. http://127.0.0.1:5000';
    if (typeof value !== 'string') return this.bad(key, value, 'a URL', allowed);
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return this.bad(key, value, 'a URL', allowed);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return this.bad(key, value, 'an http(s) URL', allowed);
    return value;
  }

  duration(key: string, value: unknown): number {
    const ms = typeof value === 'string' ? this.checks.duration(value) : undefined;
    return ms ?? this.bad(key, value, 'a duration', DURATION_FORMS);
  }
}

const TOP = ['image', 'registries', 'registryCache', 'cache', 'vm', 'proxy'] as const;
const REGISTRY_CACHE = ['enabled', 'upstreams', 'useWhenLoggedIn'] as const;
const IMAGE = ['pull', 'platform', 'noImageCache'] as const;
const REGISTRY = ['mirrors', 'insecure', 'fallback', 'tls'] as const;
const TLS = ['ca', 'cert', 'key', 'verify'] as const;
const PROXY = ['https', 'http', 'noProxy'] as const;
const MIRROR = ['url', 'insecure', 'resolve'] as const;
const CACHE = ['dir', 'maxAge', 'maxBytes'] as const;
const VM = ['kernel', 'modules', 'kernelImage', 'cpus', 'memory', 'accel'] as const;
const ACCELS = ACCELERATORS;

function validateImage(v: Validator, raw: unknown): ConfigFile['image'] {
  const o = v.mapping('image', raw, IMAGE);
  const out: NonNullable<ConfigFile['image']> = {};
  if (o.pull !== undefined) out.pull = v.pullPolicy('image.pull', o.pull);
  if (o.platform !== undefined) out.platform = v.platform('image.platform', o.platform);
  if (o.noImageCache !== undefined) out.noImageCache = v.bool('image.noImageCache', o.noImageCache);
  return out;
}

function validateMirror(v: Validator, key: string, raw: unknown): MirrorConfig {
  if (typeof raw === 'string') return { url: v.url(key, raw) };
  const o = v.mapping(key, raw, MIRROR);
  if (o.url === undefined) v.fail(key, 'a mirror needs a url (a string, or a mapping with url and optional insecure, resolve)');
  const m: MirrorConfig = { url: v.url(`${key}.url`, o.url) };
  if (o.insecure !== undefined) m.insecure = v.bool(`${key}.insecure`, o.insecure);
  if (o.resolve !== undefined) m.resolve = v.bool(`${key}.resolve`, o.resolve);
  return m;
}

function validateRegistry(v: Validator, host: string, raw: unknown): RegistryConfig {
  const key = `registries.${host.includes('.') || host === '*' ? JSON.stringify(host) : host}`;
  const o = v.mapping(key, raw, REGISTRY);
  const out: RegistryConfig = {};
  if (o.mirrors !== undefined) {
    if (!Array.isArray(o.mirrors)) v.bad(`${key}.mirrors`, o.mirrors, 'a list of mirrors', 'a list of URLs or of {url, insecure, resolve} mappings');
    out.mirrors = (o.mirrors as unknown[]).map((m, i) => validateMirror(v, `${key}.mirrors[${i}]`, m));
  }
  if (o.insecure !== undefined) out.insecure = v.bool(`${key}.insecure`, o.insecure);
  if (o.fallback !== undefined) out.fallback = v.bool(`${key}.fallback`, o.fallback);
  if (o.tls !== undefined) out.tls = validateTls(v, `${key}.tls`, o.tls);
  return out;
}

function validateTls(v: Validator, key: string, raw: unknown): NonNullable<RegistryConfig['tls']> {
  const o = v.mapping(key, raw, TLS);
  const out: NonNullable<RegistryConfig['tls']> = {};
  for (const k of ['ca', 'cert', 'key'] as const) if (o[k] !== undefined) out[k] = v.path(`${key}.${k}`, o[k]);
  if ((out.cert === undefined) !== (out.key === undefined)) v.fail(key, 'cert and key go together; set both (PEM files) or neither');
  if (o.verify !== undefined) out.verify = v.bool(`${key}.verify`, o.verify);
  return out;
}

function validateProxy(v: Validator, raw: unknown): ProxyConfig {
  if (typeof raw === 'string') {
    const url = v.url('proxy', raw);
    return { https: url, http: url };
  }
  const o = v.mapping('proxy', raw, PROXY);
  const out: ProxyConfig = {};
  if (o.https !== undefined) out.https = v.url('proxy.https', o.https);
  if (o.http !== undefined) out.http = v.url('proxy.http', o.http);
  if (o.noProxy !== undefined) {
    const list = Array.isArray(o.noProxy) ? o.noProxy : [o.noProxy];
    out.noProxy = list.map((h, i) => v.string(`proxy.noProxy${Array.isArray(o.noProxy) ? `[${i}]` : ''}`, h, 'a host list', 'host names, .domain suffixes, IPs, CIDRs, host:port or *')).join(',');
  }
  return out;
}

function validateRegistries(v: Validator, raw: unknown): RegistriesConfig {
  const o = v.mapping('registries', raw, undefined);
  const out: RegistriesConfig = {};
  for (const [host, entry] of Object.entries(o)) {
    if (host !== '*' && !/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
      v.fail(`registries.${JSON.stringify(host)}`, 'not a registry host; use host[:port] (e.g. docker.io, 127.0.0.1:5000) or "*" for every registry');
    }
    out[host] = validateRegistry(v, host, entry);
  }
  return out;
}

function validateRegistryCache(v: Validator, raw: unknown): RegistryCacheConfig {
  if (typeof raw === 'boolean') return { enabled: raw };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) v.bad('registryCache', raw, 'a boolean or a mapping', `false, true, or a mapping with keys ${REGISTRY_CACHE.join(', ')}`);
  const o = v.mapping('registryCache', raw, REGISTRY_CACHE);
  const out: RegistryCacheConfig = {};
  if (o.enabled !== undefined) out.enabled = v.bool('registryCache.enabled', o.enabled);
  if (o.useWhenLoggedIn !== undefined) out.useWhenLoggedIn = v.bool('registryCache.useWhenLoggedIn', o.useWhenLoggedIn);
  if (o.upstreams !== undefined) {
    const ups = v.mapping('registryCache.upstreams', o.upstreams, undefined);
    out.upstreams = {};
    for (const [name, url] of Object.entries(ups)) {
      const key = `registryCache.upstreams.${JSON.stringify(name)}`;
      if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(name)) v.fail(key, 'not a registry name; use host[:port], e.g. docker.io');
      const checked = v.url(key, url);
      if (new URL(checked).username || new URL(checked).password) v.fail(key, 'credentials never go into a registry cache; remove them from the URL');
      out.upstreams[name] = checked;
    }
  }
  return out;
}

function validateCache(v: Validator, raw: unknown): ConfigFile['cache'] {
  const o = v.mapping('cache', raw, CACHE);
  const out: NonNullable<ConfigFile['cache']> = {};
  if (o.dir !== undefined) out.dir = v.path('cache.dir', o.dir);
  if (o.maxAge !== undefined) out.maxAge = v.duration('cache.maxAge', o.maxAge);
  if (o.maxBytes !== undefined) {
    const n = typeof o.maxBytes === 'string' || typeof o.maxBytes === 'number' ? parseByteSize(o.maxBytes) : undefined;
    out.maxBytes = n ?? v.bad('cache.maxBytes', o.maxBytes, 'a size', BYTE_SIZE_FORMS);
  }
  return out;
}

function validateVm(v: Validator, raw: unknown): VmConfig {
  const o = v.mapping('vm', raw, VM);
  const out: VmConfig = {};
  if (o.kernel !== undefined) out.kernel = v.path('vm.kernel', o.kernel);
  if (o.modules !== undefined) out.modules = v.path('vm.modules', o.modules);
  if (o.kernelImage !== undefined) out.kernelImage = v.string('vm.kernelImage', o.kernelImage, 'an image reference', 'an image reference such as registry.example/kernels/cloud:6.1');
  if (o.cpus !== undefined) out.cpus = v.positiveInt('vm.cpus', o.cpus, 'a CPU count');
  if (o.memory !== undefined) out.memory = v.positiveInt('vm.memory', o.memory, 'a memory size in MiB');
  if (o.accel !== undefined) {
    if (!ACCELS.includes(o.accel as (typeof ACCELS)[number])) {
      const near = typeof o.accel === 'string' ? didYouMean(o.accel, ACCELS) : undefined;
      v.bad('vm.accel', o.accel, 'an accelerator', `one of ${ACCELS.join(', ')}`, near);
    }
    out.accel = o.accel as VmConfig['accel'];
  }
  return out;
}

/**
 * Validates the parsed content of a config file. Unknown keys and bad values throw a
 * {@link ConfigError} naming the file, the key path, the value and what is allowed.
 */
export function validateConfig(raw: unknown, file: string, baseDir: string, checks: ValueChecks): ConfigFile {
  const v = new Validator(file, baseDir, checks);
  const top = v.mapping('', raw, TOP);
  const out: ConfigFile = {};
  if (top.image !== undefined) out.image = validateImage(v, top.image);
  if (top.registries !== undefined) out.registries = validateRegistries(v, top.registries);
  if (top.registryCache !== undefined) out.registryCache = validateRegistryCache(v, top.registryCache);
  if (top.cache !== undefined) out.cache = validateCache(v, top.cache);
  if (top.vm !== undefined) out.vm = validateVm(v, top.vm);
  if (top.proxy !== undefined) out.proxy = validateProxy(v, top.proxy);
  return out;
}

/** True when a config sets image.pull, image.platform or cache.maxAge (checks that need the image library). */
export function needsLibraryChecks(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const { image, cache } = raw as Raw;
  const has = (section: unknown, key: string) => typeof section === 'object' && section !== null && key in section;
  return has(image, 'pull') || has(image, 'platform') || has(cache, 'maxAge');
}
