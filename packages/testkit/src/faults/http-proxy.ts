import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { Link } from './throttle.js';
import { TestkitError } from '../errors.js';

/**
 * What a fault does to a matching request. Offsets count response body bytes.
 * - `reset`: reset the connection (TCP RST); without `afterBytes` before any response byte,
 *   with it after the headers and that many body bytes.
 * - `short`: send the upstream headers (Content-Length kept), `afterBytes` body bytes, then close.
 * - `status`: answer with `status` (and optional `Retry-After`) instead of forwarding.
 * - `stall`: wait `ms` (forever when absent, until the client goes away), or until `until` settles
 *   (a test releases the request when it chooses); before the headers, or
 *   after `afterBytes` body bytes.
 * - `corrupt`: flip every bit of the body byte at `offset` (the length stays the same).
 * - `header`: remove and/or set response headers (e.g. drop `Docker-Content-Digest`).
 */
export type FaultAction =
  | { kind: 'reset'; afterBytes?: number }
  | { kind: 'short'; afterBytes: number }
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: string; headers?: Record<string, string> }
  | { kind: 'stall'; ms?: number; afterBytes?: number; until?: Promise<unknown> }
  | { kind: 'corrupt'; offset: number }
  | { kind: 'header'; remove?: string[]; set?: Record<string, string> };

/**
 * A deterministic fault: among requests matching `method` and `path`, the `nth` (1-based,
 * default 1) and the `times - 1` after it get `fault`; later ones pass through. Without `nth`
 * and `times` (or with `every: true`) every match is faulted.
 */
export interface FaultRule {
  /** Label recorded on faulted requests. */
  name?: string;
  /** HTTP method, any case; any method when absent. */
  method?: string;
  /** Tested against the path (query excluded); a string is used as a regular expression. */
  path?: RegExp | string;
  nth?: number;
  times?: number;
  every?: boolean;
  fault: FaultAction | FaultAction[];
}

/** One request seen by the proxy; `status` and `bytesOut` fill in as the response goes out. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: string;
  /** Request headers as received. */
  headers: IncomingHttpHeaders;
  /** Response status sent, 0 while none was sent (or the connection was reset first). */
  status: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
  /** Names (or kinds) of the faults applied. */
  faults: string[];
  /** True once the exchange is over (completed, cut or abandoned). */
  done: boolean;
}

/** Selects recorded requests. */
export interface RequestFilter {
  method?: string;
  path?: RegExp | string;
  status?: number;
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  requests: ProxiedRequest[];
  /** How many recorded requests match `filter` (all when absent). */
  count(filter?: RequestFilter): number;
  /** Resolves once `n` recorded and finished requests match `filter`; rejects after `timeoutMs` (default 10 s). */
  waitForCount(filter: RequestFilter, n: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once `predicate(requests)` holds, re-checked whenever a request arrives, sends
   * body bytes or ends; rejects after `timeoutMs` (default 10 s).
   */
  waitFor(predicate: (requests: ProxiedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Replaces the rules; occurrence counters start again from zero. */
  setFaults(rules: FaultRule[]): void;
  /** Forgets the recorded requests. */
  clear(): void;
  stop(): Promise<void>;
}

/** Options for {@link startProxy}. */
export interface ProxyOptions {
  /** Upstream base URL, `http://127.0.0.1:PORT`. */
  target: string;
  faults?: FaultRule[];
  /** Limit every response body, all together, to this many bytes per second (a WAN link). */
  bytesPerSecond?: number;
}

/** Raised when a proxy wait times out. */
export class ProxyWaitError extends TestkitError<'PROXY_WAIT_TIMEOUT'> {
  constructor(message: string) {
    super('PROXY_WAIT_TIMEOUT', message);
  }
}

interface ActiveRule {
  rule: FaultRule;
  pathRe: RegExp | undefined;
  seen: number;
}

function toRegExp(p: RegExp | string | undefined): RegExp | undefined {
  return p === undefined ? undefined : typeof p === 'string' ? new RegExp(p) : p;
}

function matches(method: string | undefined, pathRe: RegExp | undefined, reqMethod: string, path: string): boolean {
  if (method && method.toUpperCase() !== reqMethod.toUpperCase()) return false;
  return !pathRe || pathRe.test(path);
}

/** Advances the rule's occurrence counter and says whether this occurrence is faulted. */
function fires(a: ActiveRule): boolean {
  a.seen++;
  const { nth, times, every } = a.rule;
  if (every || (nth === undefined && times === undefined)) return true;
  const first = nth ?? 1;
  const last = first + (times ?? 1) - 1;
  return a.seen >= first && a.seen <= last;
}

function filterMatches(r: ProxiedRequest, f: RequestFilter | undefined): boolean {
  if (!f) return true;
  if (f.status !== undefined && f.status !== r.status) return false;
  return matches(f.method, toRegExp(f.path), r.method, r.path);
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade'];

function responseHeaders(up: IncomingMessage, target: URL, self: string, actions: FaultAction[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...up.headers };
  for (const h of HOP_BY_HOP) delete out[h];
  const loc = out.location;
  if (typeof loc === 'string' && loc.startsWith(target.origin)) out.location = self + loc.slice(target.origin.length);
  for (const a of actions) {
    if (a.kind !== 'header') continue;
    for (const name of a.remove ?? []) delete out[name.toLowerCase()];
    for (const [k, v] of Object.entries(a.set ?? {})) out[k.toLowerCase()] = v;
  }
  return out;
}

function waitOrClose(ms: number | undefined, res: ServerResponse, until?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    until?.then(done, done);
    function done() {
      if (timer) clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
    res.once('close', done);
  });
}

async function write(res: ServerResponse, chunk: Buffer, link?: Link): Promise<boolean> {
  if (res.destroyed) return false;
  await link?.take(chunk.length);
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  // Wait for whichever comes first and remove the other listener: `once()` from node:events would
  // leave one behind per chunk on long downloads.
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
  return !res.destroyed;
}

function flushThen(res: ServerResponse, fn: (s: Socket) => void): void {
  const s = res.socket;
  if (!s) return;
  res.write('', () => fn(s));
}

interface BodyEvent {
  at: number;
  action: FaultAction;
}

function bodyEvents(actions: FaultAction[]): BodyEvent[] {
  const evs: BodyEvent[] = [];
  for (const a of actions) {
    if ((a.kind === 'reset' || a.kind === 'stall') && a.afterBytes !== undefined) evs.push({ at: a.afterBytes, action: a });
    if (a.kind === 'short') evs.push({ at: a.afterBytes, action: a });
  }
  return evs.sort((x, y) => x.at - y.at);
}

function corrupt(chunk: Buffer, start: number, actions: FaultAction[]): Buffer {
  let out = chunk;
  for (const a of actions) {
    if (a.kind !== 'corrupt' || a.offset < start || a.offset >= start + chunk.length) continue;
    if (out === chunk) out = Buffer.from(chunk);
    out[a.offset - start] = (out[a.offset - start] ?? 0) ^ 0xff;
  }
  return out;
}

/** Runs a body event; returns false when the response was cut. */
async function runEvent(ev: BodyEvent, res: ServerResponse): Promise<boolean> {
  const a = ev.action;
  if (a.kind === 'stall') {
    await waitOrClose(a.ms, res, a.until);
    return !res.destroyed;
  }
  if (a.kind === 'reset') flushThen(res, (s) => s.resetAndDestroy());
  else flushThen(res, (s) => s.end());
  return false;
}

async function pumpBody(up: IncomingMessage, res: ServerResponse, actions: FaultAction[], rec: ProxiedRequest, onChange: () => void, link?: Link): Promise<void> {
  const stop = () => void up.destroy();
  const events = bodyEvents(actions);
  for await (const raw of up) {
    let chunk = corrupt(raw as Buffer, rec.bytesOut, actions);
    while (events.length > 0 && (events[0]?.at ?? 0) <= rec.bytesOut + chunk.length) {
      const ev = events.shift() as BodyEvent;
      const head = chunk.subarray(0, Math.max(0, ev.at - rec.bytesOut));
      if (head.length > 0 && !(await write(res, head, link))) return stop();
      rec.bytesOut += head.length;
      onChange();
      chunk = chunk.subarray(head.length);
      if (!(await runEvent(ev, res))) return stop();
    }
    if (chunk.length > 0 && !(await write(res, chunk, link))) return stop();
    rec.bytesOut += chunk.length;
    onChange();
  }
  res.end();
}

function statusReply(req: IncomingMessage, res: ServerResponse, a: Extract<FaultAction, { kind: 'status' }>): void {
  req.resume();
  const body = a.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${a.status}`, detail: null }] });
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(a.headers ?? {}) };
  if (a.retryAfter !== undefined) headers['retry-after'] = String(a.retryAfter);
  res.writeHead(a.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function forward(req: IncomingMessage, target: URL, agent: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, resolve);
    up.on('error', reject);
    req.pipe(up);
  });
}

/**
 * Starts a recording, fault-injecting HTTP proxy on loopback in front of `target` (a harness
 * registry). Requests are forwarded unchanged (Range included; the Host header is kept so the
 * registry builds Location URLs that point at the proxy, and any Location naming the target is
 * rewritten to the proxy). Faults apply in rule order.
 */
export async function startProxy(opts: ProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true });
  const link = opts.bytesPerSecond ? new Link(opts.bytesPerSecond) : undefined;
  const events = new EventEmitter();
  // Any number of tests may wait on one proxy at once.
  events.setMaxListeners(0);
  let rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const setFaults = (r: FaultRule[]) => {
    rules = r.map((rule) => ({ rule, pathRe: toRegExp(rule.path), seen: 0 }));
  };
  setFaults(opts.faults ?? []);
  let self = '';
  const onChange = () => void events.emit('change');

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://proxy');
    const rec: ProxiedRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.search.slice(1), headers: req.headers, status: 0, bytesOut: 0, faults: [], done: false };
    requests.push(rec);
    onChange();
    res.on('close', () => {
      rec.done = true;
      onChange();
    });
    const actions: FaultAction[] = [];
    for (const a of rules) {
      if (!matches(a.rule.method, a.pathRe, rec.method, rec.path) || !fires(a)) continue;
      const list = Array.isArray(a.rule.fault) ? a.rule.fault : [a.rule.fault];
      actions.push(...list);
      rec.faults.push(a.rule.name ?? list.map((f) => f.kind).join('+'));
    }
    const stallHead = actions.find((a) => a.kind === 'stall' && a.afterBytes === undefined) as { ms?: number; until?: Promise<unknown> } | undefined;
    if (stallHead) await waitOrClose(stallHead.ms, res, stallHead.until);
    if (res.destroyed) return;
    if (actions.some((a) => a.kind === 'reset' && a.afterBytes === undefined)) {
      req.socket.resetAndDestroy();
      return;
    }
    const status = actions.find((a) => a.kind === 'status');
    if (status?.kind === 'status') {
      rec.status = status.status;
      statusReply(req, res, status);
      return;
    }
    const up = await forward(req, target, agent);
    rec.status = up.statusCode ?? 0;
    onChange();
    res.writeHead(rec.status, up.statusMessage, responseHeaders(up, target, self, actions));
    if (res.destroyed) return void up.destroy();
    res.on('close', () => up.destroy());
    await pumpBody(up, res, actions, rec, onChange, link);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy could not reach ${target.origin}: ${err.message}`);
      } else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${port}`;

  const waitFor = (predicate: (rs: ProxiedRequest[]) => boolean, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate(requests)) return;
        clearTimeout(timer);
        events.off('change', check);
        resolve();
      };
      const timer = setTimeout(() => {
        events.off('change', check);
        reject(new ProxyWaitError(`proxy condition not met within ${timeoutMs} ms (${requests.length} requests seen)`));
      }, timeoutMs);
      events.on('change', check);
      check();
    });
  const count = (f?: RequestFilter) => requests.filter((r) => filterMatches(r, f)).length;
  return {
    url: self,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    count,
    setFaults,
    clear: () => void requests.splice(0),
    waitFor,
    async waitForCount(f, n, timeoutMs = 10_000) {
      await waitFor((rs) => rs.filter((r) => r.done && filterMatches(r, f)).length >= n, timeoutMs).catch(() => {
        throw new ProxyWaitError(`proxy saw ${count(f)} of ${n} expected requests within ${timeoutMs} ms`);
      });
    },
    async stop() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
