import { MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from 'oci-client-lite';
import { sha256Digest } from './digest.js';
import type { Layer } from './layer.js';

/** The runtime part of an image config a test usually sets. */
export interface RuntimeConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  [k: string]: unknown;
}

/** Options for {@link buildImage}. */
export interface BuildImageOptions {
  layers: Layer[];
  config?: RuntimeConfig;
  /** Default linux/amd64. */
  platform?: Platform;
  /** Docker schema 2 media types instead of OCI ones. */
  docker?: boolean;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Last chance to change the config before it is serialised (e.g. wrong diff_ids). */
  editConfig?: (config: ImageConfig) => ImageConfig;
  /** Last chance to change the manifest before it is serialised (e.g. wrong sizes). */
  editManifest?: (manifest: ImageManifest) => ImageManifest;
}

/** A single-platform image: manifest, config and every blob, with their digests. */
export interface BuiltImage {
  kind: 'image';
  manifest: ImageManifest;
  manifestBytes: Buffer;
  /** Digest of `manifestBytes`. */
  digest: string;
  mediaType: string;
  config: ImageConfig;
  configBytes: Buffer;
  configDigest: string;
  /** Config and layer blobs by digest. */
  blobs: Map<string, Buffer>;
  platform: Platform;
  layers: Layer[];
}

/** Options for {@link buildIndex}. */
export interface BuildIndexOptions {
  /** Docker manifest list instead of an OCI index. */
  docker?: boolean;
  annotations?: Record<string, string>;
  /** Last chance to change the index before it is serialised. */
  editIndex?: (index: ImageIndex) => ImageIndex;
}

/** A multi-platform image: the index (or manifest list) and every child image. */
export interface BuiltIndex {
  kind: 'index';
  manifest: ImageIndex;
  manifestBytes: Buffer;
  digest: string;
  mediaType: string;
  /** Every blob of every child (configs and layers) by digest. */
  blobs: Map<string, Buffer>;
  images: BuiltImage[];
}

/** Either kind of built image. */
export type BuiltArtifact = BuiltImage | BuiltIndex;

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function makeConfig(opts: BuildImageOptions, platform: Platform): ImageConfig {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { ...(opts.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffID) },
    history: opts.layers.map((_, i) => ({ created_by: `testkit layer ${i}` })),
  };
  return opts.editConfig ? opts.editConfig(config) : config;
}

/** Builds a single-platform image manifest and config around `layers`. */
export function buildImage(opts: BuildImageOptions): BuiltImage {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = makeConfig(opts, platform);
  const configBytes = jsonBytes(config);
  const configDigest = sha256Digest(configBytes);
  const mediaType = opts.docker ? MediaType.DockerManifest : MediaType.OciManifest;
  let manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: opts.docker ? MediaType.DockerConfig : MediaType.OciConfig,
      digest: configDigest,
      size: configBytes.length,
    },
    layers: opts.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  if (opts.editManifest) manifest = opts.editManifest(manifest);
  const manifestBytes = jsonBytes(manifest);
  const blobs = new Map<string, Buffer>([[configDigest, configBytes]]);
  for (const l of opts.layers) blobs.set(l.digest, l.blob);
  return {
    kind: 'image',
    manifest,
    manifestBytes,
    digest: sha256Digest(manifestBytes),
    mediaType,
    config,
    configBytes,
    configDigest,
    blobs,
    platform,
    layers: opts.layers,
  };
}

function childDescriptor(img: BuiltImage): Descriptor {
  return { mediaType: img.mediaType, digest: img.digest, size: img.manifestBytes.length, platform: { ...img.platform } };
}

/** Builds an OCI index (or Docker manifest list) over `images`, one descriptor per image with its platform. */
export function buildIndex(images: BuiltImage[], opts: BuildIndexOptions = {}): BuiltIndex {
  const mediaType = opts.docker ? MediaType.DockerManifestList : MediaType.OciIndex;
  let manifest: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map(childDescriptor),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  if (opts.editIndex) manifest = opts.editIndex(manifest);
  const manifestBytes = jsonBytes(manifest);
  const blobs = new Map<string, Buffer>();
  for (const img of images) for (const [d, b] of img.blobs) blobs.set(d, b);
  return { kind: 'index', manifest, manifestBytes, digest: sha256Digest(manifestBytes), mediaType, blobs, images };
}
