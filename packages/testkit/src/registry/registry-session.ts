import { TestkitError } from '../errors.js';
/** Credentials for a registry (basic auth, or exchanged for a bearer token). */
export interface Credentials {
  username: string;
  password: string;
}

/** Raised when a registry refuses or fails a harness request. */
export class RegistryRequestError extends TestkitError<'REGISTRY_REQUEST_FAILED'> {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super('REGISTRY_REQUEST_FAILED', message);
  }
}

/** Splits a `WWW-Authenticate` header into its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/s.exec(header.trim());
  const params: Record<string, string> = {};
  if (!m) return { scheme: '', params };
  const re = /([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

/**
 * A minimal distribution API session for pushing fixtures: answers basic and bearer
 * challenges once and keeps the resulting Authorization header.
 */
export class RegistrySession {
  readonly baseUrl: string;
  private authorization: string | undefined;

  constructor(
    registryUrl: string,
    private readonly scope: string,
    private readonly creds?: Credentials,
  ) {
    this.baseUrl = (/^https?:\/\//.test(registryUrl) ? registryUrl : `http://${registryUrl}`).replace(/\/+$/, '');
  }

  /** Sends a request (path relative to the registry, or an absolute URL), authenticating if challenged. */
  async request(method: string, pathOrUrl: string, init: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(pathOrUrl, this.baseUrl + '/').toString();
    const send = () =>
      fetch(url, {
        method,
        body: init.body,
        headers: { ...(init.headers ?? {}), ...(this.authorization ? { authorization: this.authorization } : {}) },
        redirect: 'follow',
      });
    let res = await send();
    if (res.status !== 401) return res;
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate');
    if (!challenge) throw new RegistryRequestError(`${method} ${url} answered 401 without a challenge`, 401);
    this.authorization = await this.answer(challenge);
    res = await send();
    return res;
  }

  private async answer(header: string): Promise<string> {
    const { scheme, params } = parseChallenge(header);
    if (scheme === 'basic') {
      if (!this.creds) throw new RegistryRequestError(`${this.baseUrl} asks for basic auth: pass { auth: { username, password } }`, 401);
      return basic(this.creds);
    }
    if (scheme !== 'bearer' || !params.realm) throw new RegistryRequestError(`${this.baseUrl} sent an unusable challenge: ${header}`, 401);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', this.scope);
    const res = await fetch(tokenUrl, { headers: this.creds ? { authorization: basic(this.creds) } : {} });
    if (!res.ok) throw new RegistryRequestError(`token server ${params.realm} refused (${res.status}): check the credentials`, res.status);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryRequestError(`token server ${params.realm} returned no token`, res.status);
    return `Bearer ${token}`;
  }
}
