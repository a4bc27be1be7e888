import type { Compression, Descriptor } from 'oci-client-lite';
import { MediaType } from 'oci-client-lite/media-types';
import { UnsupportedLayerError } from '../errors/pull-errors.js';

const COMPRESSION: Record<string, Compression> = {
  [MediaType.OciLayer]: 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.OciLayerZstd]: 'zstd',
  [MediaType.DockerLayerGzip]: 'gzip',
  // Docker's historical name for an uncompressed layer.
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

const NON_DISTRIBUTABLE = new Set<string>([
  MediaType.OciLayerNondistributable,
  MediaType.OciLayerNondistributableGzip,
  MediaType.OciLayerNondistributableZstd,
  MediaType.DockerLayerForeignGzip,
]);

/**
 * How a layer blob is compressed, from its media type. Non-distributable ("foreign") layers and
 * unknown types are refused: a rootfs missing a layer would be silently wrong.
 */
export function layerCompression(desc: Descriptor): Compression {
  const c = COMPRESSION[desc.mediaType];
  if (c) return c;
  if (NON_DISTRIBUTABLE.has(desc.mediaType)) {
    throw new UnsupportedLayerError(
      `layer ${desc.digest} is non-distributable (${desc.mediaType}); its content lives outside the registry and bbox does not fetch it`,
    );
  }
  throw new UnsupportedLayerError(`layer ${desc.digest} has media type ${JSON.stringify(desc.mediaType)}, which is not a known layer type`);
}
