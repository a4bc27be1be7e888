import type { Readable } from 'node:stream';
import type { BlobProgress, Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform, Reference, ResolvedImage } from '../types.js';
import {
  BlobUnknownError,
  DeniedError,
  DigestMismatchError,
  InvalidManifestError,
  ManifestUnknownError,
  OciError,
  PlatformNotFoundError,
  RegistryUnavailableError,
  SizeMismatchError,
  TimeoutError,
  TooLargeError,
  UnexpectedResponseError,
  type EndpointFailure,
  type ErrorContext,
} from '../errors.js';
import { parseReference } from '../reference/reference.js';
import { formatPlatform, hostPlatform, parsePlatform, selectManifest } from '../reference/platform.js';
import { Transport, drain, readBody, isRetryableStatus, type HttpResponse, type RequestEvent } from '../http/transport.js';
import { Authenticator, type AuthTarget } from '../auth/auth.js';
import { DockerConfig, type Credentials } from '../auth/docker-config.js';
import { MANIFEST_ACCEPT, MANIFEST_SIZE_LIMIT, parseImageConfig, parseManifest } from '../content/manifest.js';
import { verifiedBlobStream } from '../content/blob.js';
import { endpointsFor, registryEndpoint, type Endpoint, type EndpointPurpose, type RegistriesConfig } from './mirrors.js';
import { digestOf, isDigest } from '../content/digest.js';
import { ContainersAuth, containersAuthFiles } from '../auth/auth-files.js';
import { checkLogin } from '../auth/login-check.js';
import { ProxyResolver, proxyFromEnv, type ProxySettings } from '../http/proxy.js';
import { TlsTrust, type TlsConfig } from '../tls/tls-trust.js';
import type { LookupFunction } from 'node:net';

/** How the client reaches registries: TLS trust, proxies, name resolution. */
export interface NetworkOptions {
  /**
   * Proxies. Default: the environment (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`,
   * either case, as curl). Given settings replace the environment; a URL string is the proxy for
   * both schemes; false: no proxy at all. Loopback hosts are never proxied.
   */
  proxy?: ProxySettings | string | false;
  /** certs.d roots read per host (default /etc/containers/certs.d, /etc/docker/certs.d, $XDG_CONFIG_HOME/broodbox/certs.d). */
  certsDirs?: string[];
  /** Host name resolution for direct connections (default dns.lookup), e.g. to map names in tests. */
  lookup?: LookupFunction;
  /** containers auth files, read after the docker config (default: see {@link containersAuthFiles}). */
  authFiles?: string[];
  /** Told about risky settings in use (TLS without verification), once per host per client. */
  onWarning?: (message: string) => void;
  /** Environment for proxies, SSL_CERT_FILE/SSL_CERT_DIR and auth files (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Options of {@link RegistryClient}. */
export interface ClientOptions extends NetworkOptions {
  /** Per-registry settings (mirrors, fallback, insecure), keyed by host or `"*"`. */
  registries?: RegistriesConfig;
  /** Registry hosts reached over plain HTTP. Loopback registries need no entry. */
  insecure?: string[];
  /** True bypasses every mirror (`--no-registry-cache`): only the registries themselves are asked. */
  disableMirrors?: boolean;
  /** Docker config directory (default $DOCKER_CONFIG, else ~/.docker). */
  dockerConfigDir?: string;
  /**
   * True: every request is anonymous. No credentials are read or sent (none from the docker
   * config, auth files, `credentials` or a mirror's own), so what is fetched is only what anyone
   * may fetch. Anonymous bearer tokens are still obtained.
   */
  anonymous?: boolean;
  /** Credentials for a host, asked before the docker config; return undefined to fall through. */
  credentials?: (host: string) => Credentials | undefined | Promise<Credentials | undefined>;
  userAgent?: string;
  /** Retries per request on 408/429/5xx and dropped connections (default 3; mirrors get at most 1). */
  retries?: number;
  /** Idle timeout per request in ms (default 30000). */
  timeoutMs?: number;
  /** First retry delay in ms (default 250), doubled per retry with jitter. */
  retryBaseMs?: number;
  /** Cap on a server's Retry-After in ms (default 30000). */
  maxRetryAfterMs?: number;
  /** Default platform for {@link RegistryClient.resolve} (default: linux on the host's architecture). */
  platform?: Platform | string;
  /** Called for every HTTP attempt (method, URL, status): logs, tests, progress. */
  onRequest?: (e: RequestEvent) => void;
}

/** Common per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What {@link RegistryClient.head} returns. */
export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
  /** Base URL of the endpoint that answered (a mirror or the registry). */
  endpoint: string;
}

/** What {@link RegistryClient.getManifest} returns; `bytes` hash to `digest`. */
export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  kind: 'manifest' | 'index';
  manifest?: ImageManifest;
  index?: ImageIndex;
  endpoint: string;
}

/** A resolved image, plus where its manifest came from. */
export interface ResolveResult extends ResolvedImage {
  endpoint: string;
}

/** A verified blob stream, plus which endpoint serves it. */
export type BlobStream = Readable & { endpoint: string };

/** Options of {@link RegistryClient.openBlob}. */
export interface OpenBlobOptions extends CallOptions {
  onProgress?: (p: BlobProgress) => void;
}

/** Options of {@link RegistryClient.getBlob}. */
export interface GetBlobOptions extends CallOptions {
  /** Largest blob accepted (default 16 MiB). */
  maxSize?: number;
}

const DEFAULT_BLOB_LIMIT = 16 * 1024 * 1024;
const ERROR_BODY_LIMIT = 64 * 1024;

function toRef(ref: Reference | string): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

function toPlatform(p: Platform | string): Platform {
  return typeof p === 'string' ? parsePlatform(p) : p;
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Network-level failures (and 5xx/429 after retries): the endpoint did not really answer. */
function isUnavailable(err: unknown): boolean {
  if (err instanceof TimeoutError) return true;
  if (err instanceof UnexpectedResponseError) return isRetryableStatus(err.status);
  return !(err instanceof OciError);
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = String(e?.message ?? err).split('\n')[0] ?? '';
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

/**
 * A strict OCI distribution client: resolves references (mirrors first, then the registry),
 * authenticates (anonymous tokens, docker config, credential helpers, basic auth), verifies every
 * manifest and blob against its digest, retries transient failures and resumes dropped downloads.
 */
export class RegistryClient {
  private readonly options: ClientOptions;
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly dockerConfig: DockerConfig;
  private readonly containersAuth: ContainersAuth;
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();

  constructor(options: ClientOptions = {}) {
    this.options = options;
    this.transport = new Transport({ ...options, trust: trustFor(options), proxies: proxiesFor(options) });
    this.auth = new Authenticator(this.transport);
    this.dockerConfig = new DockerConfig(options.dockerConfigDir);
    this.containersAuth = new ContainersAuth(options.authFiles ?? containersAuthFiles(options.env));
  }

  /**
   * Checks a user name and password against a registry itself (never a mirror), as `docker login`
   * does, without storing them.
   * @throws UnauthorizedError when the registry refuses them.
   */
  async checkCredentials(registry: string, creds: { username: string; password: string }, opts: CallOptions = {}): Promise<void> {
    await checkLogin(this.transport, registryEndpoint(registry, this.options), creds, opts.signal);
  }

  /** Closes idle keep-alive connections (the client stays usable). */
  close(): void {
    this.transport.close();
  }

  /**
   * The digest, media type and size a tag or digest points at, by HEAD (GET when the registry
   * sends no `Docker-Content-Digest`).
   */
  async head(refIn: Reference | string, opts: CallOptions = {}): Promise<ManifestHead> {
    const ref = toRef(refIn);
    const { fetched: _fetched, ...head } = await this.headOrGet(ref, opts.signal);
    return head;
  }

  /** The manifest or index a tag or digest points at, verified against its digest. */
  async getManifest(refIn: Reference | string, opts: CallOptions = {}): Promise<FetchedManifest> {
    const ref = toRef(refIn);
    return this.withEndpoints(ref, ref.digest ? 'digest' : 'tag', opts.signal, (ep) => this.fetchManifest(ep, ref, opts.signal));
  }

  /**
   * Resolves a reference to one platform's image: the tag's manifest or index by one GET (its
   * digest is the body's sha256, checked against `Docker-Content-Digest` when sent), an index's
   * platform manifest by digest, and the config blob; all verified. When a mirror is trusted with
   * content only (`resolve: false`), the tag is resolved by HEAD upstream and the body fetched by
   * digest, so the mirror still serves it.
   */
  async resolve(refIn: Reference | string, opts: CallOptions & { platform?: Platform | string } = {}): Promise<ResolveResult> {
    const ref = toRef(refIn);
    const { signal } = opts;
    const asked = opts.platform ?? this.options.platform;
    const platform = asked ? toPlatform(asked) : hostPlatform();
    const top = await this.resolveTop(ref, signal);
    let image = top;
    for (let depth = 0; image.kind === 'index'; depth++) {
      if (depth >= 2) throw new InvalidManifestError('index', 'indexes nest more than two levels deep', this.ctx(ref));
      const desc = selectManifest(image.index as ImageIndex, platform, this.ctx(ref));
      image = await this.getManifest({ ...ref, digest: desc.digest }, { ...(signal ? { signal } : {}) });
      if (image.size !== desc.size) throw new SizeMismatchError(`manifest ${desc.digest}`, desc.size, image.size, this.ctx(ref));
    }
    const manifest = image.manifest as ImageManifest;
    const configBytes = await this.getBlob(ref, manifest.config, { ...(signal ? { signal } : {}) });
    const config = parseImageConfig(configBytes, manifest, this.ctx(ref));
    if (asked && top.kind === 'manifest') checkSingleArch(config, platform, this.ctx(ref));
    return {
      ref,
      topDigest: top.digest,
      digest: image.digest,
      mediaType: image.mediaType,
      manifest,
      manifestBytes: image.bytes,
      config,
      configBytes,
      endpoint: image.endpoint,
    };
  }

  /**
   * Streams a blob, verifying size and digest as it flows and resuming dropped downloads with
   * `Range`. The stream errors (never ends cleanly) when the content is wrong.
   */
  async openBlob(refIn: Reference | string, desc: Descriptor, opts: OpenBlobOptions = {}): Promise<BlobStream> {
    const ref = toRef(refIn);
    if (!isDigest(desc.digest)) throw new InvalidManifestError('descriptor', `digest ${JSON.stringify(desc.digest)} is not a sha256/sha512 digest`, this.ctx(ref));
    const { signal } = opts;
    const first = await this.withEndpoints(ref, 'digest', signal, async (ep) => ({ ep, res: await this.blobResponse(ep, ref, desc, 0, signal) }));
    let firstUsed = false;
    const stream = verifiedBlobStream(
      desc,
      (offset) => {
        if (!firstUsed && offset === 0) {
          firstUsed = true;
          return Promise.resolve(first.res);
        }
        return this.blobResponse(first.ep, ref, desc, offset, signal);
      },
      {
        ...(signal ? { signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        maxResumes: Math.max(this.transport.retries, 1),
        ctx: { registry: first.ep.name, repository: ref.repository },
      },
    ) as BlobStream;
    stream.endpoint = first.ep.url;
    // A stream closed before its first read never consumed the opened response.
    stream.once('close', () => {
      if (!firstUsed) first.res.body.destroy();
    });
    if (signal) {
      const onAbort = () => {
        // The caller may not be reading yet: the stream keeps the reason for its next read, and an
        // abort the caller asked for must not surface as an uncaught 'error' event.
        stream.on('error', () => undefined);
        stream.destroy(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return stream;
  }

  /** A small blob (an image config) in memory, verified; refuses blobs over `maxSize`. */
  async getBlob(refIn: Reference | string, desc: Descriptor, opts: GetBlobOptions = {}): Promise<Buffer> {
    const ref = toRef(refIn);
    const limit = opts.maxSize ?? DEFAULT_BLOB_LIMIT;
    if (desc.size > limit) throw new TooLargeError(`blob ${desc.digest}`, desc.size, limit, this.ctx(ref));
    const stream = await this.openBlob(ref, desc, { ...(opts.signal ? { signal: opts.signal } : {}) });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private ctx(ref: Reference): ErrorContext {
    return { registry: ref.registry, repository: ref.repository };
  }

  private async resolveTop(ref: Reference, signal?: AbortSignal): Promise<FetchedManifest> {
    if (ref.digest || this.tagsResolvedWhereContentIs(ref.registry)) return this.getManifest(ref, { ...(signal ? { signal } : {}) });
    const head = await this.headOrGet(ref, signal);
    return head.fetched ?? this.getManifest({ ...ref, digest: head.digest }, { ...(signal ? { signal } : {}) });
  }

  /**
   * True when every endpoint that serves content by digest may also resolve tags: then one GET by
   * tag is both the resolution and the body. A content-only mirror would be skipped by that GET,
   * and should still serve the body.
   */
  private tagsResolvedWhereContentIs(registry: string): boolean {
    return endpointsFor(registry, 'tag', this.options).length === endpointsFor(registry, 'digest', this.options).length;
  }

  private headOrGet(ref: Reference, signal?: AbortSignal): Promise<ManifestHead & { fetched?: FetchedManifest }> {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    return this.withEndpoints(ref, ref.digest ? 'digest' : 'tag', signal, async (ep) => {
      const res = await this.request(ep, ref, `manifests/${reference}`, 'HEAD', { accept: MANIFEST_ACCEPT }, signal);
      drain(res);
      if (res.status === 404) throw new ManifestUnknownError(ep.name, ref.repository, reference);
      if (res.status !== 200) throw new UnexpectedResponseError(res.status, `HEAD manifest ${reference} at ${ep.url}`, '', this.ctx(ref));
      const digest = header(res, 'docker-content-digest');
      const mediaType = header(res, 'content-type')?.split(';')[0]?.trim();
      const size = Number(header(res, 'content-length'));
      if (digest && isDigest(digest) && mediaType && Number.isSafeInteger(size)) {
        if (ref.digest && digest !== ref.digest) throw new DigestMismatchError(`manifest ${reference}`, ref.digest, digest, { registry: ep.name, repository: ref.repository });
        return { digest, mediaType, size, endpoint: ep.url };
      }
      const fetched = await this.fetchManifest(ep, ref, signal);
      return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.size, endpoint: ep.url, fetched };
    });
  }

  private async fetchManifest(ep: Endpoint, ref: Reference, signal?: AbortSignal): Promise<FetchedManifest> {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const ctx = { registry: ep.name, repository: ref.repository };
    const res = await this.request(ep, ref, `manifests/${reference}`, 'GET', { accept: MANIFEST_ACCEPT }, signal);
    if (res.status === 404) {
      drain(res);
      throw new ManifestUnknownError(ep.name, ref.repository, reference);
    }
    if (res.status !== 200) throw await this.statusError(res, `GET manifest ${reference} at ${ep.url}`, ref);
    const bytes = await readBody(res, MANIFEST_SIZE_LIMIT, (n) => new TooLargeError(`manifest ${reference}`, n, MANIFEST_SIZE_LIMIT, ctx));
    const digest = verifiedManifestDigest(bytes, ref.digest, header(res, 'docker-content-digest'), `manifest ${reference}`, ctx);
    const parsed = parseManifest(bytes, header(res, 'content-type'), ctx);
    const out: FetchedManifest = { digest, mediaType: parsed.mediaType, size: bytes.length, bytes, kind: parsed.kind, endpoint: ep.url };
    if (parsed.kind === 'index') out.index = parsed.index;
    else out.manifest = parsed.manifest;
    return out;
  }

  private async blobResponse(ep: Endpoint, ref: Reference, desc: Descriptor, offset: number, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await this.request(ep, ref, `blobs/${desc.digest}`, 'GET', headers, signal);
    if (res.status === 200 || res.status === 206) return res;
    if (res.status === 404) {
      drain(res);
      throw new BlobUnknownError(ep.name, ref.repository, desc.digest);
    }
    throw await this.statusError(res, `GET blob ${desc.digest} at ${ep.url}`, ref);
  }

  /** One request to one endpoint, with auth (401 → challenge → retry once) and retries. */
  private async request(ep: Endpoint, ref: Reference, path: string, method: 'GET' | 'HEAD', headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    const url = new URL(`${ep.url}/v2/${ref.repository}/${path}`);
    if (ep.ns) url.searchParams.set('ns', ep.ns);
    const target = this.authTarget(ep, ref.repository);
    const retries = ep.kind === 'mirror' ? Math.min(this.transport.retries, 1) : this.transport.retries;
    const send = (authz: string | undefined) =>
      this.transport.send({ method, url, headers: { ...headers, ...(authz ? { authorization: authz } : {}) }, ...(signal ? { signal } : {}) }, retries);
    const sent = await this.auth.header(target, signal);
    let res = await send(sent?.value);
    if (res.status === 401) {
      const challenge = header(res, 'www-authenticate');
      drain(res);
      res = await send(await this.auth.challenge(target, challenge, sent, signal));
      if (res.status === 401) {
        drain(res);
        throw await this.auth.noAccess(target);
      }
    }
    if (res.status === 403) throw new DeniedError(ep.name, ref.repository, await this.errorDetail(res));
    return res;
  }

  private authTarget(ep: Endpoint, repository: string): AuthTarget {
    return {
      origin: ep.url,
      name: ep.name,
      repository,
      plainHttp: ep.plainHttp,
      credentials: () => (this.options.anonymous ? Promise.resolve(undefined) : ep.credentials ? Promise.resolve(ep.credentials) : this.credentialsFor(ep.name)),
    };
  }

  private credentialsFor(host: string): Promise<Credentials | undefined> {
    let p = this.creds.get(host);
    if (!p) {
      p = Promise.resolve(this.options.credentials?.(host))
        .then((c) => c ?? this.dockerConfig.credentialsFor(host))
        .then((c) => c ?? this.containersAuth.credentialsFor(host));
      // A failed lookup is retried next time rather than cached.
      p.catch(() => this.creds.delete(host));
      this.creds.set(host, p);
    }
    return p;
  }

  private async errorDetail(res: HttpResponse): Promise<string> {
    try {
      const body = await readBody(res, ERROR_BODY_LIMIT, () => new Error('large'));
      const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
      const parts = (doc.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': '));
      return parts.join('; ') || `HTTP ${res.status}`;
    } catch {
      return `HTTP ${res.status}`;
    }
  }

  private async statusError(res: HttpResponse, what: string, ref: Reference): Promise<OciError> {
    return new UnexpectedResponseError(res.status, what, await this.errorDetail(res), this.ctx(ref));
  }

  /**
   * Runs `fn` against each endpoint in order (mirrors, then the registry) until one succeeds.
   * When all fail: the last endpoint's own error if it gave a real answer (not found, refused,
   * bad content), else {@link RegistryUnavailableError} listing every endpoint's failure.
   */
  private async withEndpoints<T>(ref: Reference, purpose: EndpointPurpose, signal: AbortSignal | undefined, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    const endpoints = endpointsFor(ref.registry, purpose, this.options);
    if (endpoints.length === 0) {
      throw new RegistryUnavailableError(
        ref.registry,
        ref.repository,
        [],
        `no endpoint may resolve tags: the mirrors of ${ref.registry} have resolve: false and fallback is false; pin a digest (name@sha256:…) or allow fallback`,
      );
    }
    const failures: EndpointFailure[] = [];
    for (const ep of endpoints) {
      try {
        return await fn(ep);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        failures.push({ endpoint: ep.url, reason: describe(err), error: err });
        if (ep !== endpoints[endpoints.length - 1]) continue;
        if (isUnavailable(err)) {
          throw new RegistryUnavailableError(ref.registry, ref.repository, failures);
        }
        if (failures.length > 1 && err instanceof OciError) Object.assign(err, { failures });
        throw err;
      }
    }
    throw new RegistryUnavailableError(ref.registry, ref.repository, failures);
  }
}

/**
 * The digest of a manifest body. By digest: that digest, once the body hashes to it. By tag: the
 * body's sha256 (what the tag points at), after checking the registry's `Docker-Content-Digest`
 * claim, if any, with the claim's own algorithm.
 */
function verifiedManifestDigest(bytes: Buffer, pinned: string | undefined, claimedHeader: string | undefined, what: string, ctx: ErrorContext): string {
  const claimed = claimedHeader && isDigest(claimedHeader) ? claimedHeader : undefined;
  const expected = pinned ?? claimed;
  const actual = digestOf(bytes, expected);
  if (expected && actual !== expected) throw new DigestMismatchError(what, expected, actual, ctx);
  return pinned ?? (actual.startsWith('sha256:') ? actual : digestOf(bytes));
}

function checkSingleArch(config: ImageConfig, platform: Platform, ctx: ErrorContext): void {
  if (!config.os || !config.architecture) return;
  const have: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  if (have.os !== platform.os || have.architecture !== platform.architecture) {
    throw new PlatformNotFoundError(formatPlatform(platform), [formatPlatform(have)], ctx);
  }
}

/** The TLS settings that apply to a host: its own entry, Docker Hub's for its API host, else `"*"`. */
function tlsConfigFor(registries: RegistriesConfig | undefined, host: string): TlsConfig | undefined {
  if (!registries) return undefined;
  const own = registries[host] ?? (host === 'registry-1.docker.io' ? registries['docker.io'] : undefined);
  return own ? own.tls : registries['*']?.tls;
}

function trustFor(o: ClientOptions): TlsTrust {
  return new TlsTrust({
    configFor: (host) => tlsConfigFor(o.registries, host),
    ...(o.certsDirs ? { certsDirs: o.certsDirs } : {}),
    ...(o.env ? { env: o.env } : {}),
    onWarning: o.onWarning ?? ((m) => process.emitWarning(m, 'TlsWarning')),
  });
}

function proxiesFor(o: ClientOptions): ProxyResolver {
  if (o.proxy === false) return new ProxyResolver({});
  if (typeof o.proxy === 'string') return new ProxyResolver({ https: o.proxy, http: o.proxy });
  return new ProxyResolver(o.proxy ?? proxyFromEnv(o.env));
}
