import type { Credentials } from '../auth/docker-config.js';
import type { TlsConfig } from '../tls/tls-trust.js';
import { OciError } from '../errors.js';
import { isLoopbackHost, registryEndpointHost } from '../reference/reference.js';

/** One mirror (pull-through cache) of a registry. */
export interface MirrorConfig {
  /** `http://127.0.0.1:5000`, `https://mirror.example.com/prefix`, or a bare host (https). */
  url: string;
  /** Plain HTTP for a bare host (a URL's scheme wins). */
  insecure?: boolean;
  /** Trust this mirror to resolve tags (default true); false: only by-digest manifests and blobs. */
  resolve?: boolean;
  /** Credentials for the mirror itself; the upstream's are never sent to a mirror. */
  credentials?: Credentials;
}

/** Settings for one registry host, or `"*"` for every registry without its own entry. */
export interface RegistryConfig {
  /** Tried in order before the registry itself. A string is a mirror URL. */
  mirrors?: (MirrorConfig | string)[];
  /** Try the registry itself after the mirrors (default true); false: mirrors only (air-gapped). */
  fallback?: boolean;
  /**
   * Allow plain HTTP: the registry is asked over HTTP, and over https once it answers as a TLS
   * server does. Certificate checks are a separate setting (`tls.verify`).
   */
  insecure?: boolean;
  /** TLS trust and client certificate for this host (also used for a mirror on this host). */
  tls?: TlsConfig;
}

/** Per-host registry settings, keyed by registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`) or `"*"`. */
export type RegistriesConfig = Record<string, RegistryConfig>;

/** One place a request can go: a mirror, or the registry itself. */
export interface Endpoint {
  kind: 'mirror' | 'registry';
  /** Base URL; requests go to `<base>/v2/…`. */
  base: URL;
  /** `base` as text, without a trailing slash (what errors and events show). */
  url: string;
  /** Host name used in messages. */
  name: string;
  /** True when reached over plain HTTP. */
  plainHttp: boolean;
  /** For mirrors: the registry it stands in for, sent as `?ns=`. */
  ns?: string;
  /** Credentials configured for a mirror (registries use the client's credential sources). */
  credentials?: Credentials;
}

/** What an endpoint list is for: resolving a tag, or content addressed by digest. */
export type EndpointPurpose = 'tag' | 'digest';

/** Inputs of {@link endpointsFor}. */
export interface EndpointOptions {
  registries?: RegistriesConfig;
  insecure?: string[];
  /** True to bypass every mirror (e.g. `--no-registry-cache`). */
  disableMirrors?: boolean;
}

/** The config entry that applies to a registry: its own, else `"*"`. */
export function registryConfigFor(registry: string, registries: RegistriesConfig = {}): RegistryConfig {
  return registries[registry] ?? registries['*'] ?? {};
}

function mirrorEndpoint(registry: string, m: MirrorConfig | string): Endpoint & { resolve: boolean } {
  const cfg: MirrorConfig = typeof m === 'string' ? { url: m } : m;
  const text = cfg.url?.trim() ?? '';
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  const hostPart = text.replace(/\/.*$/, '');
  const scheme = cfg.insecure || isLoopbackHost(hostPart) ? 'http' : 'https';
  let base: URL;
  try {
    base = new URL(hasScheme ? text : `${scheme}://${text}`);
  } catch {
    throw new OciError('INVALID_MIRROR', `mirror ${JSON.stringify(cfg.url)} of ${registry} is not a URL or host; write e.g. http://127.0.0.1:5000`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new OciError('INVALID_MIRROR', `mirror ${JSON.stringify(cfg.url)} of ${registry} must be http:// or https://`);
  }
  base.pathname = base.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
  base.search = '';
  const e: Endpoint & { resolve: boolean } = {
    kind: 'mirror',
    base,
    url: base.href.replace(/\/$/, ''),
    name: base.host,
    plainHttp: base.protocol === 'http:',
    ns: registry,
    resolve: cfg.resolve !== false,
  };
  if (cfg.credentials) e.credentials = cfg.credentials;
  return e;
}

/** The registry's own endpoint: plain HTTP for loopback and insecure hosts, https elsewhere. */
export function registryEndpoint(registry: string, opts: EndpointOptions = {}): Endpoint {
  const plain = isLoopbackHost(registry) || opts.insecure?.includes(registry) === true || registryConfigFor(registry, opts.registries).insecure === true;
  const base = new URL(`${plain ? 'http' : 'https'}://${registryEndpointHost(registry)}`);
  return { kind: 'registry', base, url: base.href.replace(/\/$/, ''), name: registry, plainHttp: plain };
}

/**
 * Endpoints to try, in order, for one registry: its mirrors (those trusted to resolve tags when
 * `purpose` is `tag`), then the registry itself unless `fallback` is false.
 */
export function endpointsFor(registry: string, purpose: EndpointPurpose, opts: EndpointOptions = {}): Endpoint[] {
  const cfg = registryConfigFor(registry, opts.registries);
  if (opts.disableMirrors) return [registryEndpoint(registry, opts)];
  const mirrors = (cfg.mirrors ?? [])
    .map((m) => mirrorEndpoint(registry, m))
    .filter((m) => purpose === 'digest' || m.resolve)
    .map(({ resolve: _resolve, ...e }) => e);
  return cfg.fallback === false ? mirrors : [...mirrors, registryEndpoint(registry, opts)];
}
