import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Kind of a recorded layer entry. Devices and FIFOs are recorded but never created. */
export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'whiteout' | 'opaque' | 'device' | 'fifo';

/** One entry of a layer, in archive order. */
export interface LayerEntry {
  /** Root-relative normalised path (`''` is the root). For whiteouts: the path they remove. */
  path: string;
  type: LayerEntryType;
  /** Permission bits including setuid, setgid and sticky (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
  /** Regular files: content length. */
  size?: number;
  /** Regular files: number of the content file in the layer's store (see {@link storeFilePath}). */
  id?: number;
  /** Regular files: `sha256:<hex>` of the content. */
  digest?: string;
  /** Symlinks: the target, verbatim. Hardlinks: the normalised path of the entry linked to. */
  linkname?: string;
  /** Devices: character or block, and their numbers (absent in layers stored before they were recorded). */
  device?: { kind: 'char' | 'block'; major: number; minor: number };
  /**
   * Files, directories and symlinks: extended attributes from the entry's PAX records that the
   * policy kept (name → base64 value), as applied on disk. Absent when there are none.
   */
  xattrs?: Record<string, string>;
}

/** Everything known about an extracted layer; saved beside its content files. */
export interface LayerIndex {
  version: 1;
  /** sha256 of the uncompressed tar, verified during extraction. */
  diffID: string;
  /** Length of the uncompressed tar stream. */
  bytes: number;
  /** Sum of regular file sizes (what the content files occupy). */
  fileBytes: number;
  /** Number of content files. */
  files: number;
  entries: LayerEntry[];
  /** Device nodes and FIFOs found in the layer and not created. */
  skipped: { devices: number; fifos: number };
}

/** Name of the index file inside a layer directory. */
export const LAYER_INDEX_FILE = 'index.json';
/** Directory holding content files inside a layer directory. */
export const LAYER_FILES_DIR = 'files';
/** Content files per fan-out directory: keeps directories small without a mkdir per file. */
export const FILES_PER_BUCKET = 4096;

/** Bucket directory (relative to the layer directory) of content file `id`. */
export function storeBucket(id: number): string {
  return join(LAYER_FILES_DIR, Math.floor(id / FILES_PER_BUCKET).toString(16));
}

/** Absolute path of content file `id` inside layer directory `layerDir`. */
export function storeFilePath(layerDir: string, id: number): string {
  return join(layerDir, storeBucket(id), id.toString(16));
}

/** Writes the index of an extracted layer into its directory. */
export async function saveLayerIndex(layerDir: string, index: LayerIndex): Promise<void> {
  await writeFile(join(layerDir, LAYER_INDEX_FILE), JSON.stringify(index), { mode: 0o600 });
}

/** Reads the index of a stored layer; fails when it is missing or of an unknown version. */
export async function readLayerIndex(layerDir: string): Promise<LayerIndex> {
  const parsed = JSON.parse(await readFile(join(layerDir, LAYER_INDEX_FILE), 'utf8')) as LayerIndex;
  if (parsed?.version !== 1 || !Array.isArray(parsed.entries)) {
    throw new Error(`layer index in ${layerDir} has an unknown format; remove the layer directory to re-extract it`);
  }
  return parsed;
}
