import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import { ProxyError } from './network-errors.js';
import { proxyAuthorization } from './proxy.js';

/** Options of {@link ConnectTunnelAgent}: an https agent's, plus the proxy. */
export interface ConnectTunnelOptions extends https.AgentOptions {
  proxy: URL;
  /** How long the proxy may take to open the tunnel (default 30000 ms). */
  connectTimeoutMs?: number;
  lookup?: LookupFunction;
}

type Callback = (err: Error | null, socket?: Duplex) => void;

/**
 * An https agent whose connections are TLS inside an HTTP CONNECT tunnel through a forward proxy.
 * Keep-alive works as for any https agent: one tunnel carries many requests.
 */
export class ConnectTunnelAgent extends https.Agent {
  private readonly proxy: URL;
  private readonly connectTimeoutMs: number;
  private readonly lookup: LookupFunction | undefined;

  constructor(opts: ConnectTunnelOptions) {
    const { proxy, connectTimeoutMs, lookup, ...agentOpts } = opts;
    super(agentOpts);
    this.proxy = proxy;
    this.connectTimeoutMs = connectTimeoutMs ?? 30_000;
    this.lookup = lookup;
  }

  // Node's Agent accepts an asynchronous createConnection that answers through the callback.
  override createConnection(options: tls.ConnectionOptions & { host?: string; port?: number }, callback: Callback): undefined {
    const target = `${hostForConnect(options.host ?? '')}:${options.port ?? 443}`;
    const headers: Record<string, string> = { host: target };
    const auth = proxyAuthorization(this.proxy);
    if (auth) headers['proxy-authorization'] = auth;
    const req = http.request({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.proxy.port || 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      ...(this.lookup ? { lookup: this.lookup } : {}),
    });
    let done = false;
    const finish = (err: Error | null, socket?: Duplex) => {
      if (done) return;
      done = true;
      callback(err, socket);
    };
    req.setTimeout(this.connectTimeoutMs, () => req.destroy(new ProxyError('PROXY_UNREACHABLE', this.proxy, `did not open a tunnel to ${target} within ${this.connectTimeoutMs} ms`)));
    req.once('connect', (res, socket, head) => {
      req.setTimeout(0);
      if (res.statusCode !== 200) {
        socket.destroy();
        // 407 is the standard answer; some proxies (tinyproxy) answer wrong credentials with 401.
        const authFailed = res.statusCode === 407 || res.statusCode === 401;
        const code = authFailed ? 'PROXY_AUTH' : 'PROXY_REFUSED';
        const why = authFailed
          ? `asks for credentials (${res.statusCode})${auth ? ' and refused the ones in its URL' : '; put them in the proxy URL: http://user:password@host:port'}`
          : `refused a tunnel to ${target} (HTTP ${res.statusCode} ${res.statusMessage ?? ''})`.trimEnd();
        return finish(new ProxyError(code, this.proxy, why));
      }
      if (head.length > 0) socket.unshift(head);
      finish(null, tls.connect({ ...options, socket }));
    });
    req.once('error', (err) => {
      finish(err instanceof ProxyError ? err : new ProxyError('PROXY_UNREACHABLE', this.proxy, `cannot be reached (${(err as NodeJS.ErrnoException).code ?? err.message})`, err));
    });
    req.end();
    return undefined;
  }
}

function hostForConnect(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
