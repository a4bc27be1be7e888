/**
 * oci-client-lite: a small, strict OCI distribution client. References and platforms, auth
 * (anonymous tokens, basic, docker config and credential helpers), verified manifests and
 * streamed blobs, retries, resumable downloads and registry mirrors; TLS trust (system store,
 * certs.d, client certificates), forward proxies and the containers auth files.
 * @packageDocumentation
 */
export * from './types.js';
export { MediaType, type Compression } from './content/media-types.js';
export * from './errors.js';
export { parseReference, formatReference, registryEndpointHost, isLoopbackHost, DOCKER_HUB, DOCKER_HUB_ENDPOINT } from './reference/reference.js';
export { parsePlatform, formatPlatform, hostPlatform, platformMatches, selectManifest } from './reference/platform.js';
export { isDigest, digestOf } from './content/digest.js';
export {
  parseManifest,
  parseImageConfig,
  isIndexMediaType,
  MANIFEST_ACCEPT,
  MANIFEST_SIZE_LIMIT,
  type ParsedManifest,
} from './content/manifest.js';
export { parseWwwAuthenticate, Authenticator, type Challenge, type AuthTarget, type SentAuth } from './auth/auth.js';
export { DockerConfig, dockerConfigDir, type Credentials } from './auth/docker-config.js';
export { runCredentialHelper } from './auth/credential-helper.js';
export { verifiedBlobStream, contentRangeStart, type BlobOpener, type VerifiedStreamOptions } from './content/blob.js';
export { Transport, parseRetryAfter, isRetryableStatus, type TransportOptions, type HttpRequest, type HttpResponse, type RequestEvent } from './http/transport.js';
export {
  endpointsFor,
  registryEndpoint,
  registryConfigFor,
  type Endpoint,
  type EndpointOptions,
  type EndpointPurpose,
  type MirrorConfig,
  type RegistryConfig,
  type RegistriesConfig,
} from './registry/mirrors.js';
export {
  RegistryClient,
  type ClientOptions,
  type ClientOptions as RegistryClientOptions,
  type CallOptions,
  type ManifestHead,
  type FetchedManifest,
  type ResolveResult,
  type BlobStream,
  type OpenBlobOptions,
  type GetBlobOptions,
  type NetworkOptions,
} from './registry/client.js';
export {
  TlsError,
  TlsConfigError,
  ProxyError,
  redactProxy,
  tlsErrorFor,
  type TlsErrorCode,
  type ProxyErrorCode,
  type TrustHint,
} from './http/network-errors.js';
export { TlsTrust, systemCertificates, type TlsConfig, type HostTls, type TlsTrustOptions } from './tls/tls-trust.js';
export { readCertsDirs, defaultCertsDirs, userCertsDir, type CertsDirContent } from './tls/certs-d.js';
export { NoProxy } from './http/no-proxy.js';
export { ProxyResolver, proxyFromEnv, parseProxyUrl, proxyAuthorization, type ProxySettings } from './http/proxy.js';
export { ContainersAuth, containersAuthFiles } from './auth/auth-files.js';
export { storeCredentials, eraseCredentials, serverKey, type StoredIn } from './auth/credential-store.js';
export { checkLogin } from './auth/login-check.js';
