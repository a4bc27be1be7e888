export { freePort } from './free-port.js';
export { startRegistry, type Registry, type RegistryOptions, type RegistryAuth } from './registry.js';
export { sha256Digest } from './digest.js';
export { writeTar, type TarEntry, type TarEntryType, type WriteTarOptions } from './tar-writer.js';
export { makeLayer, compressLayer, LayerBuildError, type Layer, type MakeLayerOptions } from './layer.js';
export {
  buildImage,
  buildIndex,
  type BuildImageOptions,
  type BuildIndexOptions,
  type BuiltImage,
  type BuiltIndex,
  type BuiltArtifact,
  type RuntimeConfig,
} from './image.js';
export { RegistrySession, RegistryRequestError, parseChallenge, type Credentials } from './registry-session.js';
export { pushImage, skopeoCopy, SkopeoError, type PushOptions, type PushResult, type SkopeoCopyOptions } from './push.js';
export { writeOciLayout, artifactBlobs, type LayoutEntry } from './oci-layout.js';
