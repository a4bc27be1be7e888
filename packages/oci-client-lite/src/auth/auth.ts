import type { Credentials } from './docker-config.js';
import { InsecureRealmError, UnauthorizedError, DeniedError } from '../errors.js';
import { drain, readBody, type Transport } from '../http/transport.js';

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  /** Lower-case scheme: `bearer`, `basic`, … */
  scheme: string;
  params: Record<string, string>;
}

/** Who is being authenticated to: one endpoint (a registry or a mirror) and one repository. */
export interface AuthTarget {
  /** Origin of the endpoint (`https://registry-1.docker.io`). */
  origin: string;
  /** Name used in messages (the registry or the mirror host). */
  name: string;
  repository: string;
  /** True when the endpoint itself is plain HTTP (loopback or marked insecure). */
  plainHttp: boolean;
  /** Credentials for this endpoint, looked up once when first needed. */
  credentials: () => Promise<Credentials | undefined>;
}

const TOKEN_LIMIT = 1024 * 1024;

/** Parses a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*,?\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?/y;
  let current: Challenge | undefined;
  for (let i = 0; i < header.length; ) {
    re.lastIndex = i;
    const m = re.exec(header);
    if (!m || m[0] === '') break;
    i = re.lastIndex;
    const name = (m[1] ?? '').toLowerCase();
    if (m[2] === undefined) {
      current = { scheme: name, params: {} };
      out.push(current);
    } else if (current) {
      current.params[name] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
    }
  }
  return out;
}

/** `p`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** An Authorization header as sent, and whether it is a token fetched for this very request. */
export interface SentAuth {
  value: string;
  fresh: boolean;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/**
 * Bearer tokens (anonymous or with credentials) from the challenge's realm, cached per endpoint and
 * scope until they expire, and basic auth. Remembers each endpoint's challenge so later requests
 * carry credentials up front instead of paying a 401 round trip.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly transport: Transport) {}

  /**
   * The Authorization header to send up front, if the endpoint's scheme is already known.
   * `fresh` is true for a token fetched just now (a 401 for it is final).
   */
  async header(t: AuthTarget, signal?: AbortSignal): Promise<SentAuth | undefined> {
    const ch = this.challenges.get(t.origin);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await t.credentials();
      return c && 'username' in c ? { value: basicHeader(c), fresh: false } : undefined;
    }
    const cached = this.tokens.get(this.key(t));
    if (cached && cached.expiresAt > Date.now()) return { value: cached.header, fresh: false };
    return { value: await this.fetchToken(t, ch, signal), fresh: true };
  }

  /**
   * Answers a 401: reads its challenge and returns the header to retry with.
   * @throws UnauthorizedError when there is nothing better to send.
   */
  async challenge(t: AuthTarget, wwwAuthenticate: string | undefined, sent: SentAuth | undefined, signal?: AbortSignal): Promise<string> {
    const all = parseWwwAuthenticate(wwwAuthenticate ?? '');
    const ch = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (!ch) throw new UnauthorizedError(t.name, t.repository, `it answered 401 without a usable WWW-Authenticate challenge (${wwwAuthenticate ?? 'none'})`);
    this.challenges.set(t.origin, ch);
    if (ch.scheme === 'basic') {
      const c = await t.credentials();
      if (!c || !('username' in c)) throw new UnauthorizedError(t.name, t.repository, `it wants a user name and password, and none is configured for ${t.name}`);
      const h = basicHeader(c);
      if (sent?.value === h) throw new UnauthorizedError(t.name, t.repository, 'the configured user name and password were refused');
      return h;
    }
    this.tokens.delete(this.key(t));
    if (sent?.fresh) throw await this.noAccess(t);
    return this.fetchToken(t, ch, signal);
  }

  /** The error for a 401 that a just-issued token did not cure. */
  async noAccess(t: AuthTarget): Promise<UnauthorizedError> {
    const c = await t.credentials();
    return new UnauthorizedError(
      t.name,
      t.repository,
      c ? 'the token issued for the configured credentials does not allow pulling it' : `anonymous pulls are not allowed and no credentials are configured for ${t.name}`,
    );
  }

  private key(t: AuthTarget): string {
    return `${t.origin}|repository:${t.repository}:pull`;
  }

  private fetchToken(t: AuthTarget, ch: Challenge, signal?: AbortSignal): Promise<string> {
    // Parallel requests that need the same token share one token request.
    const key = this.key(t);
    let p = this.inflight.get(key);
    if (!p) {
      // Shared, so no single caller's signal may cancel it; each caller still stops on its own.
      p = this.requestToken(t, ch).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return untilAborted(p, signal);
  }

  private async requestToken(t: AuthTarget, ch: Challenge): Promise<string> {
    // The realm is checked before any credential source is consulted.
    const realm = this.realmUrl(t, ch);
    const creds = await t.credentials();
    if (creds && 'registryToken' in creds) return `Bearer ${creds.registryToken}`;
    const scope = `repository:${t.repository}:pull`;
    const res = creds && 'identityToken' in creds ? await this.oauth(realm, ch, scope, creds.identityToken) : await this.getToken(realm, ch, scope, creds);
    if (res.status === 401) {
      drain(res);
      throw new UnauthorizedError(t.name, t.repository, creds ? `the token server ${realm.host} refused the configured credentials` : `the token server ${realm.host} wants credentials and none are configured for ${t.name}`);
    }
    if (res.status === 403) {
      drain(res);
      throw new DeniedError(t.name, t.repository, `the token server ${realm.host} refused a pull token`);
    }
    if (res.status !== 200) {
      drain(res);
      throw new UnauthorizedError(t.name, t.repository, `the token server ${realm.host} answered HTTP ${res.status}`);
    }
    const body = await readBody(res, TOKEN_LIMIT, () => new UnauthorizedError(t.name, t.repository, 'the token server sent an oversized answer'));
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new UnauthorizedError(t.name, t.repository, `the token server ${realm.host} did not answer JSON`);
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || !token) throw new UnauthorizedError(t.name, t.repository, `the token server ${realm.host} sent no token`);
    const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
    const start = Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now());
    const header = `Bearer ${token}`;
    // Renew a little early so a token never expires between check and use.
    this.tokens.set(this.key(t), { header, expiresAt: start + lifetime * 1000 - 5000 });
    return header;
  }

  private realmUrl(t: AuthTarget, ch: Challenge): URL {
    const realm = ch.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new UnauthorizedError(t.name, t.repository, `its token realm ${JSON.stringify(realm)} is not a URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && t.plainHttp)) throw new InsecureRealmError(t.name, url.href);
    return url;
  }

  private getToken(realm: URL, ch: Challenge, scope: string, creds: Credentials | undefined) {
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds && 'username' in creds) headers.authorization = basicHeader(creds);
    return this.transport.send({ method: 'GET', url, headers });
  }

  private oauth(realm: URL, ch: Challenge, scope: string, refreshToken: string) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, scope, client_id: 'oci-client-lite' });
    if (ch.params.service) form.set('service', ch.params.service);
    return this.transport.send({
      method: 'POST',
      url: realm,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
  }
}
