/** Where an error happened, when known. */
export interface ErrorContext {
  registry?: string;
  repository?: string;
  cause?: unknown;
}

/**
 * Every `code` an error of the client carries. Stable: programs switch on it, so a new code is a
 * new member here (and a type error in any exhaustive map over it, such as the bbox CLI's exit codes).
 */
export type OciErrorCode =
  // What the caller gave.
  | 'INVALID_REFERENCE'
  | 'INVALID_PLATFORM'
  | 'INVALID_MIRROR'
  | 'DOCKER_CONFIG'
  | 'CREDENTIAL_HELPER'
  // What the registry answered.
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'PLATFORM_NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'INSECURE_REALM'
  | 'UNEXPECTED_RESPONSE'
  | 'TOO_MANY_REDIRECTS'
  | 'INSECURE_REDIRECT'
  // Reaching it.
  | 'REGISTRY_UNAVAILABLE'
  | 'TIMEOUT'
  // TLS and proxies (TlsError, TlsConfigError, ProxyError).
  | 'TLS_UNKNOWN_CA'
  | 'TLS_EXPIRED'
  | 'TLS_HOSTNAME_MISMATCH'
  | 'TLS_CLIENT_CERT'
  | 'TLS_HANDSHAKE'
  | 'TLS_CONFIG'
  | 'PROXY_UNREACHABLE'
  | 'PROXY_AUTH'
  | 'PROXY_REFUSED'
  | 'PROXY_INVALID'
  // What it sent.
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'BLOB_INCOMPLETE'
  | 'TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_MANIFEST';

/** Base class of every error the client raises: `(code, message)`, `code` stable and machine-readable. */
export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly registry?: string;
  readonly repository?: string;

  constructor(code: OciErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.code = code;
    if (ctx.registry !== undefined) this.registry = ctx.registry;
    if (ctx.repository !== undefined) this.repository = ctx.repository;
  }
}

/** A reference string that is not a valid image reference. */
export class InvalidReferenceError extends OciError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super('INVALID_REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

/** A platform string that is not `os/arch[/variant]`. */
export class InvalidPlatformError extends OciError {
  constructor(input: string, reason: string) {
    super('INVALID_PLATFORM', `invalid platform ${JSON.stringify(input)}: ${reason}; use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
}

/** The registry does not know the manifest (tag or digest). */
export class ManifestUnknownError extends OciError {
  constructor(registry: string, repository: string, reference: string, detail = '') {
    super(
      'MANIFEST_UNKNOWN',
      `manifest ${reference} not found in ${registry}/${repository}${detail ? ` (${detail})` : ''}; check the repository name and the tag or digest`,
      { registry, repository },
    );
  }
}

/** The registry does not have the blob. */
export class BlobUnknownError extends OciError {
  constructor(registry: string, repository: string, digest: string) {
    super('BLOB_UNKNOWN', `blob ${digest} not found in ${registry}/${repository}; the image may have been deleted or only partly pushed`, {
      registry,
      repository,
    });
  }
}

/** Credentials are missing or were refused. */
export class UnauthorizedError extends OciError {
  constructor(registry: string, repository: string, detail: string) {
    super(
      'UNAUTHORIZED',
      `${registry} refused access to ${repository}: ${detail}; log in (docker login ${registry}) or pass credentials, and check the repository name`,
      { registry, repository },
    );
  }
}

/** Authenticated, but not allowed. */
export class DeniedError extends OciError {
  constructor(registry: string, repository: string, detail: string) {
    super('DENIED', `${registry} denied access to ${repository}: ${detail}; the account lacks pull permission on it`, { registry, repository });
  }
}

/** Content whose sha256 differs from the digest it was asked for. Never use such bytes. */
export class DigestMismatchError extends OciError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string, ctx: ErrorContext = {}) {
    super(
      'DIGEST_MISMATCH',
      `${what} from ${ctx.registry ?? 'the registry'}${ctx.repository ? `/${ctx.repository}` : ''} has digest ${actual}, expected ${expected}; the content is corrupt or was tampered with, it was discarded (retry, or report it to the registry's operator)`,
      ctx,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content whose length differs from its descriptor's size. */
export class SizeMismatchError extends OciError {
  constructor(what: string, expected: number, actual: number, ctx: ErrorContext = {}) {
    super(
      'SIZE_MISMATCH',
      `${what} from ${ctx.registry ?? 'the registry'}${ctx.repository ? `/${ctx.repository}` : ''} is ${actual} bytes, its descriptor says ${expected}; the content was discarded (retry, or report it to the registry's operator)`,
      ctx,
    );
  }
}

/** A blob download kept being cut before it completed, past the resumes the client allows. */
export class BlobIncompleteError extends OciError {
  constructor(what: string, received: number, size: number, cuts: number, ctx: ErrorContext = {}) {
    super(
      'BLOB_INCOMPLETE',
      `${what} from ${ctx.registry ?? 'the registry'}${ctx.repository ? `/${ctx.repository}` : ''} was cut ${cuts} times without completing (${received} of ${size} bytes); nothing was kept. Check the network or a proxy between you and the registry, then retry`,
      ctx,
    );
  }
}

/** Content larger than the client accepts for its kind (manifests, configs). */
export class TooLargeError extends OciError {
  constructor(what: string, size: number, limit: number, ctx: ErrorContext = {}) {
    super('TOO_LARGE', `${what} is ${size} bytes, over the ${limit}-byte limit; refusing it (a registry sending this is misbehaving)`, ctx);
  }
}

/** A manifest or config media type this client does not handle (schema 1, artifacts, …). */
export class UnsupportedMediaTypeError extends OciError {
  readonly mediaType: string;
  constructor(mediaType: string, detail: string, ctx: ErrorContext = {}) {
    super('UNSUPPORTED_MEDIA_TYPE', `unsupported media type ${JSON.stringify(mediaType)}: ${detail}`, ctx);
    this.mediaType = mediaType;
  }
}

/** A manifest, index or config that is not well-formed. */
export class InvalidManifestError extends OciError {
  constructor(what: string, detail: string, ctx: ErrorContext = {}) {
    super('INVALID_MANIFEST', `${what} is not valid: ${detail}`, ctx);
  }
}

/** An index has no manifest for the asked platform. */
export class PlatformNotFoundError extends OciError {
  readonly platform: string;
  readonly available: string[];
  constructor(platform: string, available: string[], ctx: ErrorContext = {}) {
    const where = ctx.registry ? ` ${ctx.registry}/${ctx.repository ?? ''}` : '';
    super(
      'PLATFORM_NOT_FOUND',
      `image${where} has no manifest for platform ${platform}; available: ${available.length ? available.join(', ') : 'none'}; pick one with --platform`,
      ctx,
    );
    this.platform = platform;
    this.available = available;
  }
}

/** One endpoint's failure, as listed by {@link RegistryUnavailableError}. */
export interface EndpointFailure {
  /** Base URL of the endpoint (`https://registry-1.docker.io`, a mirror's URL). */
  endpoint: string;
  /** What went wrong there. */
  reason: string;
  /** The underlying error. */
  error: unknown;
}

/** Every endpoint (mirrors, then the registry) failed to answer, after retries. */
export class RegistryUnavailableError extends OciError {
  readonly failures: EndpointFailure[];
  constructor(registry: string, repository: string, failures: EndpointFailure[], hint = '') {
    const list = failures.map((f) => `  ${f.endpoint}: ${f.reason}`).join('\n');
    super(
      'REGISTRY_UNAVAILABLE',
      `could not reach ${registry} for ${repository}${failures.length ? `; tried:\n${list}\n` : '; '}${hint || 'check the network, the registry address and mirror settings, then retry'}`,
      { registry, repository, cause: failures[failures.length - 1]?.error },
    );
    this.failures = failures;
  }
}

/** A token realm that would send credentials over plain HTTP or to an unexpected place. */
export class InsecureRealmError extends OciError {
  constructor(registry: string, realm: string) {
    super(
      'INSECURE_REALM',
      `${registry} asks for a token from ${realm}, which is not https; refusing to send credentials there (mark the registry insecure only if it is yours)`,
      { registry },
    );
  }
}

/** No bytes moved within the idle timeout. */
export class TimeoutError extends OciError {
  constructor(url: string, ms: number) {
    super('TIMEOUT', `no response from ${url} within ${ms} ms; the registry is slow or unreachable (raise timeoutMs or retry)`);
  }
}

/** A credential helper (`docker-credential-<name>`) failed. */
export class CredentialHelperError extends OciError {
  constructor(helper: string, server: string, detail: string) {
    super(
      'CREDENTIAL_HELPER',
      `credential helper docker-credential-${helper} failed for ${server}: ${detail}; check that it is installed and on PATH, or fix credHelpers/credsStore in the docker config`,
    );
  }
}

/** The docker config file is unreadable or malformed. */
export class DockerConfigError extends OciError {
  constructor(file: string, detail: string) {
    super('DOCKER_CONFIG', `docker config ${file} is not usable: ${detail}; fix or remove it`);
  }
}

/** The registry answered with a status the client did not expect. */
export class UnexpectedResponseError extends OciError {
  readonly status: number;
  constructor(status: number, what: string, detail: string, ctx: ErrorContext = {}) {
    super('UNEXPECTED_RESPONSE', `${what}: registry answered HTTP ${status}${detail ? ` (${detail})` : ''}`, ctx);
    this.status = status;
  }
}

/** True for the error an aborted AbortSignal produces (passed through unchanged). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
