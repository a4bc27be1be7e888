/**
 * oci-client-lite: a small, strict OCI distribution client. References and platforms, auth
 * (anonymous tokens, basic, docker config and credential helpers), verified manifests and
 * streamed blobs, retries, resumable downloads and registry mirrors.
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
} from './registry/client.js';
