import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { MediaType, type Compression } from 'oci-client-lite';
import { sha256Digest } from './digest.js';
import { writeTar, type TarEntry } from './tar-writer.js';
import { TestkitError } from '../errors.js';

/** A layer blob ready to go into an image. */
export interface Layer {
  /** The blob as stored in a registry (compressed unless `compression: 'none'`). */
  blob: Buffer;
  /** sha256 of `blob`. */
  digest: string;
  /** sha256 of the uncompressed tar (what the image config lists in `rootfs.diff_ids`). */
  diffID: string;
  /** Byte length of `blob`. */
  size: number;
  mediaType: string;
  /** The uncompressed tar. */
  tar: Buffer;
}

/** Options for {@link makeLayer}. */
export interface MakeLayerOptions {
  /** Default `gzip`. */
  compression?: Compression;
  /** Use Docker schema 2 media types instead of OCI ones. */
  docker?: boolean;
  /** Media type written in descriptors instead of the derived one (for mismatch tests). */
  mediaType?: string;
}

/** Raised when a layer cannot be compressed (the `zstd` CLI is missing or failed). */
export class LayerBuildError extends TestkitError<'LAYER_BUILD_FAILED'> {
  constructor(message: string) {
    super('LAYER_BUILD_FAILED', message);
  }
}

const DOCKER_LAYER: Record<Compression, string> = {
  gzip: MediaType.DockerLayerGzip,
  zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  none: 'application/vnd.docker.image.rootfs.diff.tar',
};
const OCI_LAYER: Record<Compression, string> = {
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
  none: MediaType.OciLayer,
};

function zstdCompress(data: Buffer): Buffer {
  // Node 20 has no zstd encoder; the CLI is installed on every machine that runs these tests.
  const res = spawnSync('zstd', ['-q', '-c', '-3', '--no-check'], { input: data, maxBuffer: 1 << 30 });
  if (res.error) throw new LayerBuildError(`cannot run zstd (${res.error.message}): install the zstd package`);
  if (res.status !== 0) throw new LayerBuildError(`zstd failed (exit ${res.status}): ${res.stderr.toString()}`);
  return res.stdout;
}

/** Compresses a tar as a layer blob would be. */
export function compressLayer(tar: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(tar);
  if (compression === 'zstd') return zstdCompress(tar);
  return tar;
}

/**
 * Builds a layer from tar entries (see {@link writeTar}) or from a ready tar archive,
 * compressed with gzip (default), zstd or not at all.
 */
export function makeLayer(entries: TarEntry[] | Buffer, opts: MakeLayerOptions = {}): Layer {
  const compression = opts.compression ?? 'gzip';
  const tar = Buffer.isBuffer(entries) ? entries : writeTar(entries);
  const blob = compressLayer(tar, compression);
  return {
    blob,
    digest: sha256Digest(blob),
    diffID: sha256Digest(tar),
    size: blob.length,
    mediaType: opts.mediaType ?? (opts.docker ? DOCKER_LAYER : OCI_LAYER)[compression],
    tar,
  };
}
