import { parseWwwAuthenticate } from './auth.js';
import { InsecureRealmError, UnauthorizedError, UnexpectedResponseError } from '../errors.js';
import type { Endpoint } from '../registry/mirrors.js';
import { drain, type Transport } from '../http/transport.js';

function basic(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

const REFUSED = 'the user name or password was refused';

/**
 * Checks a user name and password against a registry as `docker login` does: `GET /v2/`, then
 * either basic auth on `/v2/` or a token from the challenge's realm with the credentials.
 * Resolves when they are accepted (or the registry wants none).
 * @throws UnauthorizedError when they are refused.
 */
export async function checkLogin(transport: Transport, ep: Endpoint, creds: { username: string; password: string }, signal?: AbortSignal): Promise<void> {
  const base = new URL(`${ep.url}/v2/`);
  const sig = signal ? { signal } : {};
  const first = await transport.send({ method: 'GET', url: base, ...sig });
  drain(first);
  if (first.status === 200) return;
  if (first.status !== 401) throw new UnexpectedResponseError(first.status, `GET ${base.href}`, '', { registry: ep.name });
  const header = first.headers['www-authenticate'];
  const all = parseWwwAuthenticate(Array.isArray(header) ? header.join(', ') : (header ?? ''));
  const bearer = all.find((c) => c.scheme === 'bearer');
  if (!bearer) {
    const res = await transport.send({ method: 'GET', url: base, headers: { authorization: basic(creds) }, ...sig });
    drain(res);
    if (res.status === 200) return;
    if (res.status === 401) throw new UnauthorizedError(ep.name, '(login)', REFUSED);
    throw new UnexpectedResponseError(res.status, `GET ${base.href}`, '', { registry: ep.name });
  }
  let realm: URL;
  try {
    realm = new URL(bearer.params.realm ?? '');
  } catch {
    throw new UnauthorizedError(ep.name, '(login)', `its token realm ${JSON.stringify(bearer.params.realm)} is not a URL`);
  }
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && ep.plainHttp)) throw new InsecureRealmError(ep.name, realm.href);
  if (bearer.params.service) realm.searchParams.set('service', bearer.params.service);
  const res = await transport.send({ method: 'GET', url: realm, headers: { authorization: basic(creds), accept: 'application/json' }, ...sig });
  drain(res);
  if (res.status === 200) return;
  if (res.status === 401 || res.status === 403) throw new UnauthorizedError(ep.name, '(login)', REFUSED);
  throw new UnexpectedResponseError(res.status, `GET ${realm.origin}${realm.pathname}`, '', { registry: ep.name });
}
