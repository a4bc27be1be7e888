import http from 'node:http';
import type https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ProxyResolver } from './proxy.js';
import { proxyAuthorization } from './proxy.js';
import type { HostTls, TlsTrust } from '../tls/tls-trust.js';

/** How one request is sent: the agent, and what to add to the request options. */
export interface Route {
  agent: http.Agent;
  /** node:https when the URL is https (loaded only then). */
  secure?: typeof https;
  /** The proxy, for plain-HTTP requests in absolute form and for messages. */
  proxy?: URL;
  /** The host's TLS set-up (https only). */
  tls?: HostTls;
  /** Request options to merge (host/port/path of the proxy for plain HTTP through it). */
  extra: http.RequestOptions;
}

// One keep-alive pool per process, shared by every transport: a client made per pull (as
// pullWithFetcher does by default) reuses the connection the previous one opened. node:https and
// TLS are loaded only when an https endpoint is first asked: a loopback registry never needs them.
let sharedHttp: http.Agent | undefined;
// Forward proxies (tinyproxy among them) often close a client connection after each plain-HTTP
// request; a kept-alive socket would then fail the next request with a reset.
let proxiedHttp: http.Agent | undefined;
const agents = new Map<string, http.Agent>();
let httpsLoaded: Promise<typeof https> | undefined;

const AGENT_DEFAULTS = { keepAlive: true, maxSockets: 16 };
// Agents made with a lookup hook are kept apart per hook: one client's name mapping is not another's.
const lookupIds = new WeakMap<LookupFunction, number>();
let lookupCount = 0;

function lookupKey(lookup: LookupFunction | undefined): string {
  if (!lookup) return '';
  let id = lookupIds.get(lookup);
  if (id === undefined) lookupIds.set(lookup, (id = ++lookupCount));
  return String(id);
}

function plainAgent(): http.Agent {
  sharedHttp ??= new http.Agent(AGENT_DEFAULTS);
  return sharedHttp;
}

/** Every agent made so far (to close idle connections). */
export function allAgents(): http.Agent[] {
  return [...(sharedHttp ? [sharedHttp] : []), ...agents.values()];
}

/** Options of {@link routeFor}. */
export interface RouteOptions {
  trust: TlsTrust;
  proxies: ProxyResolver;
  lookup?: LookupFunction;
  timeoutMs: number;
}

/** The agent and options that reach `url`: directly or through a proxy, with the host's TLS trust. */
export async function routeFor(url: URL, o: RouteOptions): Promise<Route> {
  const proxy = o.proxies.proxyFor(url);
  const lookup = o.lookup ? { lookup: o.lookup } : {};
  if (url.protocol !== 'https:') {
    if (!proxy) return { agent: plainAgent(), extra: { ...lookup } };
    // Plain HTTP through a proxy: the request line carries the absolute URL.
    const auth = proxyAuthorization(proxy);
    proxiedHttp ??= new http.Agent({ keepAlive: false, maxSockets: AGENT_DEFAULTS.maxSockets });
    return {
      agent: proxiedHttp,
      proxy,
      extra: {
        host: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: Number(proxy.port || 80),
        path: url.href,
        ...lookup,
        ...(auth ? { headers: { 'proxy-authorization': auth } } : {}),
      },
    };
  }
  httpsLoaded ??= import('node:https').then((m) => m.default);
  const [secure, tls] = await Promise.all([httpsLoaded, o.trust.forHost(url.host)]);
  const key = `${o.trust.keyFor(url.host)}|${proxy?.href ?? ''}|${lookupKey(o.lookup)}`;
  let agent = agents.get(key);
  if (!agent) {
    const tlsOpts = { ...AGENT_DEFAULTS, secureContext: tls.secureContext, rejectUnauthorized: tls.verify, ...lookup };
    if (proxy) {
      const { ConnectTunnelAgent } = await import('./connect-agent.js');
      agent = new ConnectTunnelAgent({ ...tlsOpts, proxy, connectTimeoutMs: o.timeoutMs });
    } else {
      agent = new secure.Agent(tlsOpts);
    }
    agents.set(key, agent);
  }
  return { agent, secure, tls, ...(proxy ? { proxy } : {}), extra: {} };
}
