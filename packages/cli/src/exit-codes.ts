/**
 * Exit codes of `bbox`. Stable: scripts rely on them (documented in docs/cli.md).
 * `bbox run` exits with the guest command's own code once the command has started.
 */
export const ExitCode = {
  ok: 0,
  /** Anything not covered below. */
  failure: 1,
  /** Bad command line, bad config file or environment value, bad reference, refused purge. */
  usage: 2,
  /** `--pull never` (or an offline setup) and the image is not in the cache. */
  notCached: 3,
  /** The registry or a mirror could not be reached, or refused access, or lacks the image. */
  registry: 4,
  /** Content did not match its digest, or a cache entry is damaged. */
  integrity: 5,
  /** `bbox run --timeout` expired (same code as timeout(1)). */
  timeout: 124,
  /** Stopped by Ctrl-C (SIGINT). */
  interrupted: 130,
  /** Stopped by SIGTERM. */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const usageCodes = new Set([
  'USAGE',
  'CONFIG_INVALID',
  'INVALID_PULL_POLICY',
  'INVALID_REFERENCE',
  'INVALID_PLATFORM',
  'INVALID_DURATION',
  'PURGE_NEEDS_FORCE',
  'PATH_IN_CACHE',
  'INVALID_DIGEST',
  'CACHE_DIR_INVALID',
  'INVALID_ARTIFACT_NAME',
  'VM_BAD_SPEC',
  'VM_NO_COMMAND',
  'VM_USER_NOT_FOUND',
  'TLS_CONFIG',
  'PROXY_INVALID',
]);

const registryCodes = new Set([
  'REGISTRY_UNAVAILABLE',
  'UNAUTHORIZED',
  'DENIED',
  'MANIFEST_UNKNOWN',
  'BLOB_UNKNOWN',
  'NAME_UNKNOWN',
  'PLATFORM_NOT_FOUND',
  'TIMEOUT',
  'INSECURE_REALM',
  'CREDENTIAL_HELPER',
  'DOCKER_CONFIG',
  'UNEXPECTED_RESPONSE',
  'TOO_MANY_REQUESTS',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TLS_UNKNOWN_CA',
  'TLS_EXPIRED',
  'TLS_HOSTNAME_MISMATCH',
  'TLS_CLIENT_CERT',
  'TLS_HANDSHAKE',
  'PROXY_UNREACHABLE',
  'PROXY_AUTH',
  'PROXY_REFUSED',
]);

const integrityCodes = new Set([
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'DIFFID_MISMATCH',
  'INVALID_IMAGE',
  'LAYER_PATH_ESCAPE',
  'LAYER_BAD_TAR',
  'LAYER_DECOMPRESS',
  'CACHE_DAMAGED',
  'ENTRY_DAMAGED',
  'INTEGRITY',
  'VERIFY_FAILED',
]);

/** Maps an error's `code` (from bbox, the image library or the registry client) to an exit code. */
export function exitCodeFor(code: string | undefined): ExitCodeValue {
  if (!code) return ExitCode.failure;
  if (code === 'ABORT_ERR' || code === 'ABORTED' || code === 'INTERRUPTED') return ExitCode.interrupted;
  if (code === 'IMAGE_NOT_CACHED') return ExitCode.notCached;
  if (code === 'VM_TIMEOUT') return ExitCode.timeout;
  if (usageCodes.has(code)) return ExitCode.usage;
  if (registryCodes.has(code)) return ExitCode.registry;
  if (integrityCodes.has(code)) return ExitCode.integrity;
  return ExitCode.failure;
}
