import { OciError } from '../errors.js';

/** Which TLS check failed: the `code` of a {@link TlsError}. */
export type TlsErrorCode = 'TLS_UNKNOWN_CA' | 'TLS_EXPIRED' | 'TLS_HOSTNAME_MISMATCH' | 'TLS_CLIENT_CERT' | 'TLS_HANDSHAKE';

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const CLIENT_CERT = /ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN|ALERT_HANDSHAKE_FAILURE/;

/** Where a CA for `host` may be put, for messages. */
export interface TrustHint {
  /** The per-user certs.d directory for the host (`~/.config/broodbox/certs.d/HOST:PORT`). */
  certsDir: string;
  /** True when a client certificate was offered. */
  clientCert: boolean;
}

/**
 * A TLS connection to a registry (or mirror, or token server) failed a check. The message names
 * the host, the check, and where a CA or client certificate belongs.
 */
export class TlsError extends OciError {
  declare readonly code: TlsErrorCode;
  /** Node's own error code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`, …). */
  readonly tlsCode: string;

  constructor(code: TlsErrorCode, host: string, detail: string, tlsCode: string, cause: unknown) {
    super(code, `TLS to ${host} failed: ${detail}`, { registry: host, cause });
    this.tlsCode = tlsCode;
  }
}

/** The TLS error for a Node TLS failure, or undefined when `err` is not one. */
export function tlsErrorFor(err: unknown, host: string, hint: TrustHint): TlsError | undefined {
  const code = String((err as { code?: unknown })?.code ?? '');
  const put = `put its CA certificate in ${hint.certsDir}/ca.crt (or /etc/containers/certs.d/${host}/), or in the system store (update-ca-certificates)`;
  if (UNKNOWN_CA.has(code)) return new TlsError('TLS_UNKNOWN_CA', host, `its certificate is signed by an unknown CA (${code}); ${put}`, code, err);
  if (EXPIRED.has(code)) {
    const when = code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet';
    return new TlsError('TLS_EXPIRED', host, `its certificate ${when} (${code}); check the clock, or ask the registry's operator to renew it`, code, err);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const reason = String((err as Error).message ?? '').replace(/^Hostname\/IP does not match certificate's altnames: /, '');
    return new TlsError('TLS_HOSTNAME_MISMATCH', host, `its certificate is not for this host name (${reason}); use the name the certificate was issued for`, code, err);
  }
  if (CLIENT_CERT.test(code)) {
    const detail = hint.clientCert
      ? `it refused the client certificate offered (${code}); check that it is signed by a CA the registry accepts`
      : `it asks for a client certificate (${code}); put one as client.cert and client.key in ${hint.certsDir}/, or set registries.<host>.tls.cert and .key`;
    return new TlsError('TLS_CLIENT_CERT', host, detail, code, err);
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return new TlsError('TLS_HANDSHAKE', host, `the TLS handshake failed (${code}: ${(err as Error).message}); if it speaks plain HTTP, mark it insecure`, code, err);
  }
  return undefined;
}

/** A configured CA, client certificate or key that cannot be read or used. */
export class TlsConfigError extends OciError {
  constructor(host: string, detail: string, cause?: unknown) {
    super('TLS_CONFIG', `TLS settings for ${host} are not usable: ${detail}`, { registry: host, cause });
  }
}

/** What went wrong with a proxy: the `code` of a {@link ProxyError}. */
export type ProxyErrorCode = 'PROXY_UNREACHABLE' | 'PROXY_AUTH' | 'PROXY_REFUSED' | 'PROXY_INVALID';

/** `url` without its password, for messages. */
export function redactProxy(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return '(an invalid proxy URL)';
  }
  if (u.password) u.password = '***';
  return u.href.replace(/\/$/, '');
}

/** A forward proxy could not be reached, refused the credentials, or refused the tunnel. */
export class ProxyError extends OciError {
  declare readonly code: ProxyErrorCode;
  /** The proxy URL, without its password. */
  readonly proxy: string;
  constructor(code: ProxyErrorCode, proxy: URL | string, detail: string, cause?: unknown) {
    const shown = redactProxy(proxy);
    super(code, `proxy ${shown} ${detail}`, cause === undefined ? {} : { cause });
    this.proxy = shown;
  }
}
