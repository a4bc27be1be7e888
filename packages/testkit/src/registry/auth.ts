import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, createSign, randomUUID, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { TestkitError } from '../errors.js';

/** Users and their passwords. */
export type UserTable = Record<string, string>;

/**
 * Writes an htpasswd file with bcrypt hashes (the only scheme distribution accepts) and
 * returns its path. Cost 5 keeps test setup fast.
 */
export async function writeHtpasswd(file: string, users: UserTable): Promise<string> {
  const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

/** One access scope of a token request (`repository:library/alpine:pull,push`). */
export interface TokenScope {
  type: string;
  name: string;
  actions: string[];
}

/** One request the token server answered. */
export interface TokenRequest {
  /** Authenticated user, undefined for anonymous requests. */
  user: string | undefined;
  service: string;
  scopes: TokenScope[];
  /** 200 when a token was issued, 401 for bad credentials. */
  status: number;
}

/** Options for {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Accepted basic-auth credentials; requests with other credentials get 401. */
  users?: UserTable;
  /**
   * Actions granted to `user` (undefined when anonymous) for `scope`. Default: an authenticated
   * user gets every requested action, an anonymous one gets none.
   */
  grant?: (user: string | undefined, scope: TokenScope) => string[];
  /** Token lifetime in seconds (default 300). */
  ttlSeconds?: number;
  /** Default `testkit-registry`. */
  service?: string;
  /** Default `testkit-token-issuer`. */
  issuer?: string;
}

/** A running token server, shaped so it can be spread into `startRegistry({ auth })`. */
export interface TokenServer {
  kind: 'token';
  /** Token endpoint URL, plain HTTP on loopback. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM file holding the signing certificate (the registry's `rootcertbundle`). */
  rootCertBundle: string;
  url: string;
  requests: TokenRequest[];
  /** Signs an arbitrary claim set with the server's key (for forged or expired token tests). */
  sign(claims: Record<string, unknown>): string;
  stop(): Promise<void>;
}

/** Raised when the token server's key material cannot be made. */
export class TokenServerError extends TestkitError<'TOKEN_SERVER_FAILED'> {
  constructor(message: string) {
    super('TOKEN_SERVER_FAILED', message);
  }
}

const run = promisify(execFile);

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** The libtrust key id distribution derives from a public key: base32 of 240 bits of its SPKI sha256, in 4-char groups. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const hash = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let b32 = '';
  for (let i = 0; i < bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return (b32.match(/.{4}/g) ?? []).join(':');
}

async function makeKeyPair(dir: string): Promise<{ keyPem: string; certPem: string; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=testkit-token-issuer']);
  } catch (err) {
    throw new TokenServerError(`cannot create the token signing key with openssl: ${(err as Error).message}`);
  }
  return { keyPem: await readFile(keyFile, 'utf8'), certPem: await readFile(certFile, 'utf8'), certFile };
}

/** Parses `type:name:actions` where the name itself may hold colons (`registry:5000/repo`). */
export function parseScope(s: string): TokenScope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

function basicUser(req: IncomingMessage, users: UserTable | undefined): { user: string | undefined; ok: boolean } {
  const h = req.headers.authorization;
  if (!h) return { user: undefined, ok: true };
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m) return { user: undefined, ok: false };
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  const user = decoded.slice(0, sep);
  const pass = decoded.slice(sep + 1);
  const ok = sep > 0 && (users === undefined || users[user] === pass);
  return { user: ok ? user : undefined, ok };
}

/**
 * Starts a loopback token server for distribution's `auth.token` mode. It signs RS256 JWTs
 * with a fresh openssl-made key; the header carries both `x5c` (the self-signed certificate)
 * and the libtrust `kid`, so distribution 2.8 trusts it through `rootCertBundle`.
 */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bbox-token-'));
  const { keyPem, certPem, certFile } = await makeKeyPair(dir);
  const key = createPrivateKey(keyPem);
  const cert = new X509Certificate(certPem);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const header = { typ: 'JWT', alg: 'RS256', kid: libtrustKeyId(spki), x5c: [cert.raw.toString('base64')] };
  const service = opts.service ?? 'testkit-registry';
  const issuer = opts.issuer ?? 'testkit-token-issuer';
  const ttl = opts.ttlSeconds ?? 300;
  const grant = opts.grant ?? ((user, scope) => (user ? scope.actions : []));
  const requests: TokenRequest[] = [];

  const sign = (claims: Record<string, unknown>) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key);
    return `${input}.${b64url(sig)}`;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://token');
    const scopes = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).map(parseScope).filter((s): s is TokenScope => !!s);
    const { user, ok } = basicUser(req, opts.users);
    const rec: TokenRequest = { user, service: u.searchParams.get('service') ?? '', scopes, status: ok ? 200 : 401 };
    requests.push(rec);
    if (!ok) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="testkit-token"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const token = sign({
      iss: issuer,
      sub: user ?? '',
      aud: rec.service || service,
      exp: now + ttl,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: scopes.map((s) => ({ type: s.type, name: s.name, actions: grant(user, s) })),
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() }));
  };

  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    kind: 'token',
    realm: `${url}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    url,
    requests,
    sign,
    async stop() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
