import http, { type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type https from 'node:https';
import { TimeoutError, OciError } from '../errors.js';

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

// One keep-alive pool per process, shared by every transport: a client made per pull (as
// pullWithFetcher does by default) reuses the connection the previous one opened, so a tag check
// costs one round trip, not a TCP handshake too. node:https (and TLS with it) is loaded only when
// an https endpoint is first asked: a loopback registry never needs it.
let sharedHttp: http.Agent | undefined;
let sharedHttps: https.Agent | undefined;
let httpsLoaded: Promise<typeof https> | undefined;

function httpAgent(): http.Agent {
  sharedHttp ??= new http.Agent({ keepAlive: true, maxSockets: 16 });
  return sharedHttp;
}

/** node:https and its shared pool, loaded on first use. */
async function loadHttps(): Promise<{ mod: typeof https; agent: https.Agent }> {
  httpsLoaded ??= import('node:https').then((m) => m.default);
  const mod = await httpsLoaded;
  sharedHttps ??= new mod.Agent({ keepAlive: true, maxSockets: 16 });
  return { mod, agent: sharedHttps };
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

  constructor(opts: TransportOptions = {}) {
    this.opts = opts;
    this.retries = opts.retries ?? 3;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    closeIdle(sharedHttp);
    closeIdle(sharedHttps);
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
      const res = await this.once({ ...req, method, url, headers });
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

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const { signal } = req;
    const secure = req.url.protocol === 'https:' ? await loadHttps() : undefined;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'oci-client-lite/0.1', ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
      const options = { method: req.method, headers };
      const r = secure ? secure.mod.request(req.url, { ...options, agent: secure.agent }) : http.request(req.url, { ...options, agent: httpAgent() });
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
        report(0, (err as Error).message);
        reject(signal?.aborted ? signal.reason : err);
      });
      r.on('response', (res) => {
        report(res.statusCode ?? 0);
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
