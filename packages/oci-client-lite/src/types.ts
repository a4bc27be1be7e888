/** A parsed, normalised image reference (`docker.io/library/alpine:latest`). */
export interface Reference {
  /** Registry host[:port], normalised (`docker.io` for Docker Hub). */
  registry: string;
  /** Repository path (`library/alpine`). */
  repository: string;
  /** Tag, when given (defaults to `latest` only when neither tag nor digest is given). */
  tag?: string;
  /** `sha256:<64 hex>` when the reference is pinned by digest. */
  digest?: string;
}

/** A target platform (`linux/arm64/v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
}

/** An OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The parts of an OCI image configuration that bbox uses (the rest is kept as is). */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    [k: string]: unknown;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
  [k: string]: unknown;
}

/** What `resolve` returns: a platform-specific image, every part verified. */
export interface ResolvedImage {
  /** The reference as asked for (normalised). */
  ref: Reference;
  /** Digest the reference points at: an index digest for multi-platform images, else = digest. */
  topDigest: string;
  /** Digest of the platform-specific image manifest (the cache key). */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  /** Raw manifest bytes (their sha256 is `digest`). */
  manifestBytes: Buffer;
  config: ImageConfig;
  configBytes: Buffer;
}

/** Progress of one blob download. */
export interface BlobProgress {
  digest: string;
  done: number;
  total: number;
}
