import http, { type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { TimeoutError, OciError } from '../errors.js';
import { allAgents, routeFor, type Route } from './agent-pool.js';
import { ProxyError, tlsErrorFor } from './network-errors.js';
import { ProxyResolver } from './proxy.js';
import { answersLikeTls, isNotHttp, knownTls, rememberTls } from './scheme-upgrade.js';
import { TlsTrust } from '../tls/tls-trust.js';

/** One HTTP request as the client makes it. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** A response whose body has not been read yet (drain or consume it). */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL that finally answered (after redirects). */
  url: URL;
}

/** What a transport reports for each attempt (for tests, logs and progress). */
export interface RequestEvent {
  method: string;
  url: string;
  /** HTTP status, or 0 when the attempt failed without one. */
  status: number;
  error?: string;
}

/** Retry and timeout settings. */
export interface TransportOptions {
  userAgent?: string;
  /** Retries after the first attempt for 408/429/5xx and dropped connections (default 3). */
  retries?: number;
  /** Idle timeout: no byte in either direction for this long fails the attempt (default 30000). */
  timeoutMs?: number;
  /** First backoff delay (default 250 ms); doubles each retry, jittered, capped at 8 s. */
  retryBaseMs?: number;
  /** Upper bound on a server's Retry-After (default 30000 ms). */
  maxRetryAfterMs?: number;
  onRequest?: (e: RequestEvent) => void;
  /** What https connections trust and present (default: Node's CAs, the system store, certs.d). */
  trust?: TlsTrust;
  /** Which requests go through a proxy (default: none). */
  proxies?: ProxyResolver;
  /** Host name resolution for direct connections (default: the system's, dns.lookup). */
  lookup?: LookupFunction;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'TIMEOUT', 'UND_ERR_SOCKET']);

/** True for a status worth retrying: 408, 429 and 5xx (except 501/505, which will not change). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** True for a network failure worth retrying (resets, stalls); refused connections are not. */
export function isRetryableError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && RETRY_CODES.has(code);
}

/** Milliseconds a Retry-After header asks for, or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads a whole (small) body, failing once it passes `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number, onTooLarge: (size: number) => Error): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw onTooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw onTooLarge(size);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Throws away a body so the connection can be reused. */
export function drain(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => {});
}

/** Ends the idle connections of a pool; requests in flight (maybe another client's) go on. */
function closeIdle(agent: Agent | undefined): void {
  for (const sockets of Object.values(agent?.freeSockets ?? {})) for (const s of sockets ?? []) s.destroy();
}

/**
 * HTTP over node:http/https with keep-alive, an idle timeout, abort on every call, retries with
 * jittered exponential backoff, and redirects followed by hand so that `Authorization` never
 * reaches another host.
 */
export class Transport {
  readonly retries: number;
  readonly timeoutMs: number;
  private readonly opts: TransportOptions;
  private readonly trust: TlsTrust;
  private readonly proxies: ProxyResolver;

  constructor(opts: TransportOptions = {}) {
    this.opts = opts;
    this.trust = opts.trust ?? new TlsTrust();
    this.proxies = opts.proxies ?? new ProxyResolver({});
    this.retries = opts.retries ?? 3;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    for (const agent of allAgents()) closeIdle(agent);
  }

  /**
   * Sends with retries. A retryable status is answered by waiting (Retry-After when given,
   * bounded) and retrying; after the last retry that response is returned for the caller to map.
   */
  async send(req: HttpRequest, retries = this.retries): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.follow(req);
      } catch (err) {
        if (attempt >= retries || !isRetryableError(err) || req.signal?.aborted) throw err;
        await sleep(this.backoff(attempt), req.signal);
        continue;
      }
      if (attempt >= retries || !isRetryableStatus(res.status)) return res;
      drain(res);
      const after = parseRetryAfter(res.headers['retry-after'] as string | undefined);
      const wait = after === undefined ? this.backoff(attempt) : Math.min(after, this.opts.maxRetryAfterMs ?? 30_000);
      await sleep(wait, req.signal);
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min((this.opts.retryBaseMs ?? 250) * 2 ** attempt, 8000);
    return base / 2 + Math.random() * (base / 2);
  }

  private async follow(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { ...req.headers };
    let method = req.method;
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce({ ...req, method, url, headers });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.status) || !location) return res;
      drain(res);
      if (hop >= MAX_REDIRECTS) throw new OciError('TOO_MANY_REDIRECTS', `${req.url.href} redirected more than ${MAX_REDIRECTS} times`);
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new OciError('INSECURE_REDIRECT', `${url.href} redirected to ${next.href}, from https to plain HTTP; refusing to follow`);
      }
      // Credentials are for the registry only; blob storage elsewhere gets a signed URL instead.
      if (next.host !== url.host || next.protocol !== url.protocol) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      if (res.status === 303) method = 'GET';
      url = next;
    }
  }

  /**
   * One request. A plain-HTTP request to a server that turns out to speak TLS (a loopback or
   * `insecure` registry serving https) is sent again over https, and the host remembered for the
   * process, so the plain-HTTP path pays nothing and a TLS registry on loopback just works.
   */
  private async sendOnce(req: HttpRequest): Promise<HttpResponse> {
    if (req.url.protocol !== 'http:') return this.once(req);
    const asHttps = () => {
      const url = new URL(req.url);
      url.protocol = 'https:';
      return this.once({ ...req, url });
    };
    if (knownTls(req.url.host)) return asHttps();
    let res: HttpResponse;
    try {
      res = await this.once(req);
    } catch (err) {
      if (!isNotHttp(err)) throw err;
      rememberTls(req.url.host);
      return asHttps();
    }
    if (res.status !== 400) return res;
    const probe = await answersLikeTls(res.body);
    if (!probe.tls) return { ...res, body: probe.body };
    rememberTls(req.url.host);
    return asHttps();
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const { signal } = req;
    const route = await routeFor(req.url, { trust: this.trust, proxies: this.proxies, timeoutMs: this.timeoutMs, ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}) });
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'oci-client-lite/0.1', ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
      const r = openRequest(req, route, headers);
      const report = (status: number, error?: string) =>
        this.opts.onRequest?.({ method: req.method, url: req.url.href, status, ...(error ? { error } : {}) });
      const onAbort = () => r.destroy(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      r.setTimeout(this.timeoutMs, () => {
        const e = new TimeoutError(req.url.href, this.timeoutMs);
        r.destroy(e);
        // After the headers, the body stream must see the timeout too.
        (r as { res?: IncomingMessage }).res?.destroy(e);
      });
      r.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        const mapped = networkError(err, req.url, route);
        report(0, (mapped as Error).message);
        reject(signal?.aborted ? signal.reason : mapped);
      });
      r.on('response', (res) => {
        report(res.statusCode ?? 0);
        if (res.statusCode === 407 && route.proxy) {
          res.resume();
          const sent = route.extra.headers !== undefined;
          reject(new ProxyError('PROXY_AUTH', route.proxy, `asks for credentials (407)${sent ? ' and refused the ones in its URL' : '; put them in the proxy URL: http://user:password@host:port'}`));
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        if (signal) {
          // Abort while the body streams: the consumer gets the signal's reason, not a reset.
          const onBodyAbort = () => res.destroy(signal.reason);
          signal.addEventListener('abort', onBodyAbort, { once: true });
          res.once('close', () => signal.removeEventListener('abort', onBodyAbort));
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
      });
      r.end(req.body);
    });
  }
}

function openRequest(req: HttpRequest, route: Route, headers: Record<string, string>): http.ClientRequest {
  const options: http.RequestOptions = { method: req.method, agent: route.agent, ...route.extra, headers: { ...headers, ...(route.extra.headers as Record<string, string> | undefined) } };
  if (route.secure) return route.secure.request(req.url, options);
  // Through a proxy, `extra` names the proxy as host and the whole URL as path.
  return route.proxy ? http.request(options) : http.request(req.url, options);
}

/** A TLS failure as a {@link TlsError}, a failure to reach a proxy as a {@link ProxyError}; others unchanged. */
function networkError(err: unknown, url: URL, route: Route): unknown {
  if (err instanceof OciError) return err;
  if (route.tls) {
    const tlsErr = tlsErrorFor(err, url.host, route.tls.hint);
    if (tlsErr) return tlsErr;
  }
  // Plain HTTP through a proxy connects to the proxy itself: a refusal is the proxy's.
  const code = (err as NodeJS.ErrnoException)?.code;
  if (route.proxy && !route.secure && (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH')) {
    return new ProxyError('PROXY_UNREACHABLE', route.proxy, `cannot be reached (${code})`, err);
  }
  return err;
}
