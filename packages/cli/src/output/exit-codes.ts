import type { ImageErrorCode } from '@broodbox/image';
import type { OciErrorCode } from 'oci-client-lite';
import type { VmErrorCode } from '@broodbox/vmm';

/**
 * Exit codes of `bbox`. Stable: scripts rely on them (documented in docs/cli.md).
 * `bbox run` exits with the guest command's own code once the command has started.
 */
export const ExitCode = {
  ok: 0,
  /** A failure on this host (disk, permissions, locks, the VM), or `cache verify` found damage. */
  failure: 1,
  /** Bad command line, bad config file or environment value, bad reference, refused purge. */
  usage: 2,
  /** `--pull never` (or an offline setup) and the image is not in the cache; or a command that reads the cache (rm, inspect, export) found no such image. */
  notCached: 3,
  /** The registry or a mirror could not be reached, or refused access, or lacks the image. */
  registry: 4,
  /** Content did not match its digest, a hostile or malformed image or layer, or a damaged cache. */
  integrity: 5,
  /** `bbox run --timeout` expired (same code as timeout(1)). */
  timeout: 124,
  /** Stopped by Ctrl-C (SIGINT). */
  interrupted: 130,
  /** Stopped by SIGTERM. */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Codes of the CLI's own errors (CliError and its subclasses). */
export type CliErrorCode = 'USAGE' | 'CONFIG_INVALID' | 'PURGE_NEEDS_FORCE' | 'INTERRUPTED' | 'IMAGE_NOT_CACHED' | 'NETWORK_NEEDED' | 'REGISTRY_CACHE_DISABLED';

/** Every code a bbox error can carry: the CLI's, the image library's, the registry client's, the VM layer's. */
export type ErrorCode = CliErrorCode | ImageErrorCode | OciErrorCode | VmErrorCode;

/** Codes of Node's own errors that reach a user: an aborted operation, the network, the disk. */
export type NodeErrorCode =
  | 'ABORT_ERR'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ENOTFOUND'
  | 'EAI_AGAIN'
  | 'ETIMEDOUT'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EACCES'
  | 'EPERM'
  | 'ENOSPC';

const { failure, usage, notCached, registry, integrity, timeout, interrupted } = ExitCode;

// Exhaustive: a code added to any of the unions above is a type error here until it has an exit code.
const EXIT_CODES: Record<ErrorCode | NodeErrorCode, ExitCodeValue> = {
  // The CLI.
  USAGE: usage,
  CONFIG_INVALID: usage,
  PURGE_NEEDS_FORCE: usage,
  INTERRUPTED: interrupted,
  IMAGE_NOT_CACHED: notCached,
  NETWORK_NEEDED: failure, // only between the fast path and the full pull; never printed
  REGISTRY_CACHE_DISABLED: usage,
  // The image library: what the user gave or chose.
  INVALID_PULL_POLICY: usage,
  INVALID_DURATION: usage,
  INVALID_DIGEST: usage,
  INVALID_ARTIFACT_NAME: usage,
  CACHE_DIR_INVALID: usage,
  CACHE_VERSION_UNSUPPORTED: usage,
  ENTRY_NOT_FOUND: usage,
  IMAGE_NOT_FOUND: notCached,
  DIGEST_AMBIGUOUS: usage,
  ENTRY_SHARED: usage, // like a refused purge: --force says yes
  CLONE_DEST_IN_CACHE: usage,
  CLONE_DEST_NOT_EMPTY: usage,
  CLONE_DEST_INVALID: usage,
  // The image library: content that is not what it claims, or that the cache refuses.
  CACHE_CORRUPT: integrity,
  ENTRY_DAMAGED: integrity,
  DIGEST_MISMATCH: integrity,
  SIZE_MISMATCH: integrity,
  DIFFID_MISMATCH: integrity,
  INVALID_IMAGE: integrity,
  LAYOUT_INVALID: integrity,
  LAYER_PATH_ESCAPE: integrity,
  LAYER_ENTRY_LIMIT: integrity,
  LAYER_BYTE_LIMIT: integrity,
  LAYER_BAD_TAR: integrity,
  LAYER_DECOMPRESS: integrity,
  LAYER_CONFLICT: integrity,
  LAYER_XATTR_INVALID: integrity,
  LAYER_XATTR_TOO_LARGE: integrity,
  // The image library: this host (disk, locks, a running process, what it can apply).
  CACHE_LOCKED: failure,
  CACHE_FULL: failure,
  ENTRY_HELD: failure,
  CLONE_FAILED: failure,
  NOT_A_TMP_DIR: failure,
  NOTHING_TO_PUBLISH: failure,
  XATTR_APPLY_FAILED: failure,
  UNSUPPORTED_MEDIA_TYPE: failure, // a kind of image or layer bbox does not handle (non-distributable, foreign)
  STORE_WRITE_FAILED: failure,
  STORE_WRITER_STOPPED: failure,
  ROOTFS_WRITE_FAILED: failure,
  // The image library: the pull-through registry caches (bbox registry-cache).
  REGISTRY_CACHE_UNKNOWN_UPSTREAM: usage,
  REGISTRY_CACHE_BAD_UPSTREAM: usage,
  REGISTRY_CACHE_NO_BINARY: failure,
  REGISTRY_CACHE_START_FAILED: failure,
  REGISTRY_CACHE_STOP_FAILED: failure,
  // The registry client: what the user gave (a reference, a platform, a mirror, credentials set-up).
  INVALID_REFERENCE: usage,
  INVALID_PLATFORM: usage,
  INVALID_MIRROR: usage,
  // The registry client: the registry or a mirror, and reaching it.
  MANIFEST_UNKNOWN: registry,
  BLOB_UNKNOWN: registry,
  PLATFORM_NOT_FOUND: registry,
  UNAUTHORIZED: registry,
  DENIED: registry,
  INSECURE_REALM: registry,
  CREDENTIAL_HELPER: registry,
  DOCKER_CONFIG: registry,
  UNEXPECTED_RESPONSE: registry,
  TOO_MANY_REDIRECTS: registry,
  INSECURE_REDIRECT: registry,
  REGISTRY_UNAVAILABLE: registry,
  TIMEOUT: registry,
  TLS_UNKNOWN_CA: registry,
  TLS_EXPIRED: registry,
  TLS_HOSTNAME_MISMATCH: registry,
  TLS_CLIENT_CERT: registry,
  TLS_HANDSHAKE: registry,
  TLS_CONFIG: usage,
  PROXY_UNREACHABLE: registry,
  PROXY_AUTH: registry,
  PROXY_REFUSED: registry,
  PROXY_INVALID: usage,
  BLOB_INCOMPLETE: registry,
  TOO_LARGE: registry,
  // The registry client: content that is not a usable manifest.
  INVALID_MANIFEST: integrity,
  // The VM layer.
  VM_BAD_SPEC: usage,
  VM_NO_COMMAND: usage,
  VM_USER_NOT_FOUND: usage,
  VM_PLATFORM_NOT_RUNNABLE: usage,
  VM_BAD_RUN_OPTIONS: usage,
  VM_TIMEOUT: timeout,
  VM_ABORTED: interrupted,
  VM_KERNEL_NOT_FOUND: failure,
  VM_MODULE_MISSING: failure,
  VM_HOST_TOOL: failure,
  VM_DISK_BUILD: failure,
  VM_ACCEL_UNAVAILABLE: failure,
  VM_BOOT_FAILED: failure,
  VM_CRASHED: failure,
  // Node.
  ABORT_ERR: interrupted,
  ECONNREFUSED: registry,
  ECONNRESET: registry,
  ENOTFOUND: registry,
  EAI_AGAIN: registry,
  ETIMEDOUT: registry,
  EHOSTUNREACH: registry,
  ENETUNREACH: registry,
  EACCES: failure,
  EPERM: failure,
  ENOSPC: failure,
};

/** Maps an error's `code` to an exit code; a code bbox does not know is a plain failure. */
export function exitCodeFor(code: string | undefined): ExitCodeValue {
  return code !== undefined && Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code as keyof typeof EXIT_CODES] : ExitCode.failure;
}
