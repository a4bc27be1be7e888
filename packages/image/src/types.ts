import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, Platform, Reference, ResolvedImage } from 'oci-client-lite';

/** A pull policy after alias normalisation. `max-age` carries its duration in ms. */
export type PullPolicy =
  | { kind: 'if-not-present' }
  | { kind: 'always' }
  | { kind: 'never' }
  | { kind: 'background' }
  | { kind: 'max-age'; maxAgeMs: number };

/** What a pull hands back. `path` is read-only by contract (see docs/cache-layout.md). */
export interface RootFS {
  /** Absolute path of the rootfs directory. */
  path: string;
  /** Image manifest digest (platform-specific). */
  digest: string;
  config: ImageConfig;
  /** True when no layer had to be fetched for this call. */
  fromCache: boolean;
  /** Normalised reference string. */
  ref: string;
  /** For `background`: settles when the refresh is done (never rejects; carries the error). */
  refresh?: Promise<RefreshResult>;
}

export interface RefreshResult {
  ok: boolean;
  /** Digest the ref points at after the refresh. */
  digest?: string;
  changed?: boolean;
  error?: Error;
}

/** Progress events of a pull. */
export type PullProgress =
  | { type: 'resolved'; ref: string; digest: string; layers: number; bytes: number }
  | { type: 'layer-start'; digest: string; size: number; index: number; cached: boolean }
  | { type: 'layer-progress'; digest: string; done: number; total: number }
  | { type: 'layer-done'; digest: string; index: number }
  | { type: 'cache-hit'; ref: string; digest: string; network: boolean };

/** Something a pull could not do in full although it succeeded (each code is reported once per pull). */
export interface PullWarning {
  /** Stable identifier, e.g. `XATTR_TOOL_MISSING`. */
  code: string;
  /** What was not done, and what to do about it. */
  message: string;
}

/** Where images come from. The default one is a registry (with mirrors); another reads OCI layouts. */
export interface Fetcher {
  /** The digest the reference points at now (one HEAD when possible). */
  head(ref: Reference, opts: { signal?: AbortSignal }): Promise<{ digest: string; mediaType: string }>;
  /** Resolves the reference (or `ref.digest`) to a verified platform-specific image. */
  resolve(ref: Reference, opts: { platform: Platform; signal?: AbortSignal }): Promise<ResolvedImage>;
  /** A stream of the layer blob as stored (compressed), verified against `desc.digest`. */
  openLayer(
    ref: Reference,
    desc: Descriptor,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<Readable>;
}

/** Limits applied to layer application. */
export interface ExtractLimits {
  /** Total uncompressed bytes per image (default 30 GiB). */
  maxBytes: number;
  /** Entries per layer (default 1,000,000). */
  maxEntries: number;
}
