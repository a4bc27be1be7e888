import { NoProxy } from './no-proxy.js';
import { ProxyError } from './network-errors.js';
import { isLoopbackHost } from '../reference/reference.js';

/** Proxy settings: the `proxy` config key, or what the environment says. */
export interface ProxySettings {
  /** Proxy for https:// URLs (a CONNECT tunnel), `http://[user:password@]host:port`. */
  https?: string;
  /** Proxy for plain http:// URLs. */
  http?: string;
  /** Hosts reached directly: names, domain suffixes, IPs, CIDRs, `host:port`, `*`. */
  noProxy?: string | string[];
}

/** The first set variable of `names`, lower case first (as curl). */
function envValue(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n] ?? env[n.toUpperCase()];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** Proxy settings from `https_proxy`, `http_proxy`, `all_proxy` and `no_proxy` (either case). */
export function proxyFromEnv(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const out: ProxySettings = {};
  const https = envValue(env, 'https_proxy', 'all_proxy');
  const http = envValue(env, 'http_proxy', 'all_proxy');
  const no = envValue(env, 'no_proxy');
  if (https) out.https = https;
  if (http) out.http = http;
  if (no) out.noProxy = no;
  return out;
}

/** Parses a proxy URL (a bare `host:port` means http://). Only http:// proxies are supported. */
export function parseProxyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch (e) {
    throw new ProxyError('PROXY_INVALID', text, 'is not a URL; write http://[user:password@]host:port', e);
  }
  if (url.protocol !== 'http:') throw new ProxyError('PROXY_INVALID', url, `uses ${url.protocol}//, which is not supported; use an http:// proxy (https is tunnelled through it with CONNECT)`);
  return url;
}

/**
 * Decides, per URL, whether a request goes through a proxy and which. Loopback hosts never do;
 * hosts matching the no-proxy list neither.
 */
export class ProxyResolver {
  private readonly noProxy: NoProxy;
  private readonly parsed = new Map<string, URL>();

  /** `settings`: the `proxy` option when given (it replaces the environment entirely), else the environment's. */
  constructor(private readonly settings: ProxySettings) {
    this.noProxy = new NoProxy(settings.noProxy);
  }

  /**
   * The proxy for `url`, or undefined for a direct connection. A proxy URL is parsed when first
   * needed, so an unusable one only fails the requests that would go through it.
   */
  proxyFor(url: URL): URL | undefined {
    const scheme = url.protocol === 'https:' ? 'https' : 'http';
    const text = this.settings[scheme];
    if (!text || isLoopbackHost(url.host)) return undefined;
    const port = url.port || (scheme === 'https' ? '443' : '80');
    if (this.noProxy.matches(url.hostname, port)) return undefined;
    let proxy = this.parsed.get(text);
    if (!proxy) this.parsed.set(text, (proxy = parseProxyUrl(text)));
    return proxy;
  }
}

/** The `Proxy-Authorization` header for a proxy URL with credentials, or undefined. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}
