/**
 * The layer engine of @broodbox/image: extract a layer once into the layer store, compose a rootfs
 * from stored layers. Most users want `pullWithFetcher` from the package root instead.
 *
 * @packageDocumentation
 */
export { extractLayer, type ExtractLayerOptions } from './layers/extract.js';
export { composeRootfs, type ComposeOptions, type ComposeResult, type RootfsRecord, type StoredLayer } from './compose/compose.js';
export {
  readLayerIndex,
  saveLayerIndex,
  storeFilePath,
  LAYER_INDEX_FILE,
  type LayerIndex,
  type LayerEntry,
  type LayerEntryType,
} from './layers/layer-index.js';
export { StoreWriteError, MaterialiseError } from './errors/layer-errors.js';
export type { LayerCompression } from './layers/decompress.js';
