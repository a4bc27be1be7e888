/**
 * oci-client-lite: a small, strict OCI distribution client. References and platforms, auth
 * (anonymous tokens, basic, docker config and credential helpers), verified manifests and
 * streamed blobs, retries, resumable downloads and registry mirrors; TLS trust (system store,
 * certs.d, client certificates), forward proxies and the containers auth files.
 * @packageDocumentation
 */
export * from './types.js';
export { MediaType, type Compression } from './media-types.js';
export * from './errors.js';
export { parseReference, formatReference, registryEndpointHost, isLoopbackHost, DOCKER_HUB, DOCKER_HUB_ENDPOINT } from './reference.js';
export { parsePlatform, formatPlatform, hostPlatform, platformMatches, selectManifest } from './platform.js';
export { isDigest, digestOf } from './digest.js';
export {
  parseManifest,
  parseImageConfig,
  isIndexMediaType,
  MANIFEST_ACCEPT,
  MANIFEST_SIZE_LIMIT,
  type ParsedManifest,
} from './manifest.js';
export { parseWwwAuthenticate, Authenticator, type Challenge, type AuthTarget, type SentAuth } from './auth.js';
export { DockerConfig, dockerConfigDir, type Credentials } from './docker-config.js';
export { runCredentialHelper } from './credential-helper.js';
export { verifiedBlobStream, contentRangeStart, type BlobOpener, type VerifiedStreamOptions } from './blob.js';
export { Transport, parseRetryAfter, isRetryableStatus, type TransportOptions, type HttpRequest, type HttpResponse, type RequestEvent } from './transport.js';
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
} from './mirrors.js';
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
} from './client.js';
export {
  TlsError,
  TlsConfigError,
  ProxyError,
  redactProxy,
  tlsErrorFor,
  type TlsErrorCode,
  type ProxyErrorCode,
  type TrustHint,
} from './network-errors.js';
export { TlsTrust, systemCertificates, type TlsConfig, type HostTls, type TlsTrustOptions } from './tls-trust.js';
export { readCertsDirs, defaultCertsDirs, userCertsDir, type CertsDirContent } from './certs-d.js';
export { NoProxy } from './no-proxy.js';
export { ProxyResolver, proxyFromEnv, parseProxyUrl, proxyAuthorization, type ProxySettings } from './proxy.js';
export { ContainersAuth, containersAuthFiles } from './auth-files.js';
export { storeCredentials, eraseCredentials, serverKey, type StoredIn } from './credential-store.js';
export { checkLogin } from './login-check.js';
