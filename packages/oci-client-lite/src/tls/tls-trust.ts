import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecureContext } from 'node:tls';
import { readCertsDirs, defaultCertsDirs, userCertsDir } from './certs-d.js';
import { TlsConfigError, type TrustHint } from '../http/network-errors.js';

/** TLS settings of one registry host (`registries.<host>.tls`). */
export interface TlsConfig {
  /** CA certificate file(s) (PEM) trusted for this host, on top of the system store. */
  ca?: string | string[];
  /** Client certificate file (PEM), with `key`. */
  cert?: string;
  /** Client key file (PEM), with `cert`. */
  key?: string;
  /** False: speak TLS but skip certificate checks (a warning is given on each use). Default true. */
  verify?: boolean;
}

/** How TLS is set up for one host: ready to hand to an https agent. */
export interface HostTls {
  secureContext: SecureContext;
  /** False when verification is switched off (`verify: false`). */
  verify: boolean;
  /** Where a CA for this host belongs, for error messages. */
  hint: TrustHint;
}

const OS_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];
const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function readIfThere(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

async function pemsInDir(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  // c_rehash links (`abcd1234.0`) and *.pem/*.crt files; duplicates are harmless to OpenSSL.
  const texts = await Promise.all(names.filter((n) => /\.(pem|crt)$|^[0-9a-f]{8}\.\d+$/.test(n)).map((n) => readIfThere(join(dir, n))));
  return texts.flatMap((t) => t.match(PEM_RE) ?? []);
}

/**
 * The operating system's trusted CAs: Debian's and RHEL's bundles, `SSL_CERT_FILE` and the PEM
 * files of `SSL_CERT_DIR` (as OpenSSL, curl and Go read them).
 */
export async function systemCertificates(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const files = [...OS_BUNDLES, ...(env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : [])];
  const texts = await Promise.all(files.map(readIfThere));
  const fromDirs = await Promise.all((env.SSL_CERT_DIR ?? '').split(':').filter(Boolean).map(pemsInDir));
  return [...new Set([...texts.flatMap((t) => t.match(PEM_RE) ?? []), ...fromDirs.flat()])];
}

async function readConfigured(host: string, what: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new TlsConfigError(host, `cannot read the ${what} ${file}: ${(e as Error).message}`, e);
  }
}

/** Options of {@link TlsTrust}. */
export interface TlsTrustOptions {
  /** TLS settings for a host (`host:port`), or undefined. */
  configFor?: (host: string) => TlsConfig | undefined;
  /** certs.d roots (default: {@link defaultCertsDirs}). */
  certsDirs?: string[];
  /** Environment for SSL_CERT_FILE / SSL_CERT_DIR / XDG_CONFIG_HOME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Told each time a host without verification is first used by this trust. */
  onWarning?: (message: string) => void;
}

// Per process: a secure context costs ~30 ms to build from ~300 CAs, and the trust of a host does
// not change while the process runs. Keyed by host and by everything that shapes the context.
const contexts = new Map<string, Promise<HostTls>>();
const systemPems = new Map<string, Promise<string[]>>();

function systemKey(env: NodeJS.ProcessEnv): string {
  return `${env.SSL_CERT_FILE ?? ''}|${env.SSL_CERT_DIR ?? ''}`;
}

/**
 * Decides what a TLS connection to a host trusts and presents: Node's bundled CAs, the system
 * store, the host's certs.d directories and its configured CA, client certificate and `verify`.
 * Read on first use and cached per host; nothing here runs for plain-HTTP registries.
 */
export class TlsTrust {
  private readonly roots: string[];
  private readonly warned = new Set<string>();

  constructor(private readonly opts: TlsTrustOptions = {}) {
    this.roots = opts.certsDirs ?? defaultCertsDirs(opts.env);
  }

  /** A key that changes whenever the TLS set-up of `host` would (for connection pools). */
  keyFor(host: string): string {
    return JSON.stringify([host, this.opts.configFor?.(host) ?? null, this.roots, systemKey(this.opts.env ?? process.env)]);
  }

  /** The TLS set-up for `host` (`name[:port]`). */
  async forHost(host: string): Promise<HostTls> {
    const cfg = this.opts.configFor?.(host) ?? {};
    if (cfg.verify === false && !this.warned.has(host)) {
      this.warned.add(host);
      this.opts.onWarning?.(`TLS certificate checks are off for ${host} (tls.verify: false); anyone on the path can read and change what it sends`);
    }
    const key = this.keyFor(host);
    let p = contexts.get(key);
    if (!p) {
      p = this.build(host, cfg);
      p.catch(() => contexts.delete(key));
      contexts.set(key, p);
    }
    return p;
  }

  private async build(host: string, cfg: TlsConfig): Promise<HostTls> {
    const tls = await import('node:tls');
    const env = this.opts.env ?? process.env;
    let pems = systemPems.get(systemKey(env));
    if (!pems) systemPems.set(systemKey(env), (pems = systemCertificates(env)));
    const [system, dirs] = await Promise.all([pems, readCertsDirs(host, this.roots)]);
    const caFiles = cfg.ca === undefined ? [] : Array.isArray(cfg.ca) ? cfg.ca : [cfg.ca];
    const configured = await Promise.all(caFiles.map((f) => readConfigured(host, 'CA file', f)));
    if ((cfg.cert === undefined) !== (cfg.key === undefined)) throw new TlsConfigError(host, 'tls.cert and tls.key go together; set both or neither');
    const client = cfg.cert && cfg.key
      ? { cert: await readConfigured(host, 'client certificate', cfg.cert), key: await readConfigured(host, 'client key', cfg.key) }
      : dirs.client;
    let secureContext: SecureContext;
    try {
      secureContext = tls.createSecureContext({
        ca: [...tls.rootCertificates, ...system, ...dirs.ca.map((c) => c.pem), ...configured],
        ...(client ? { cert: client.cert, key: client.key } : {}),
      });
    } catch (e) {
      throw new TlsConfigError(host, `a CA, certificate or key is not valid PEM or the key does not match (${(e as Error).message})`, e);
    }
    return { secureContext, verify: cfg.verify !== false, hint: { certsDir: userCertsDir(host, this.roots), clientCert: client !== undefined } };
  }
}
