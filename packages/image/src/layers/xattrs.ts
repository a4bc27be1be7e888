import { join } from 'node:path';
import { storeFilePath, type LayerEntry } from './layer-index.js';
import { XATTR_LIMITS } from './limits.js';
import { xattrsFromPax } from './pax-xattr.js';
import { applyXattrs, missingToolWarning, setfattrAvailable, type XattrTarget, type XattrWarning } from './xattr-apply.js';
import { LayerXattrError } from '../errors/xattr-errors.js';
import { selectXattrs, type XattrMap } from './xattr-policy.js';
import { modeOnDisk } from './unprivileged-mode.js';

/** True when this process can set `trusted.*` and `security.capability`. */
export const runningAsRoot = (): boolean => process.getuid?.() === 0;

/** Picks each entry's extended attributes from its PAX records, and bounds a layer's total. */
export class XattrRecorder {
  private bytes = 0;
  /** Some entry of the layer has extended attributes to apply. */
  any = false;

  constructor(private readonly root: boolean = runningAsRoot()) {}

  /**
   * The attributes to record for an entry. Hardlinks, whiteouts, devices and FIFOs get none:
   * a hardlink shares its target's inode, and umoci applies no header metadata to it either.
   */
  forEntry(records: Map<string, Buffer> | undefined, entryPath: string, type: LayerEntry['type']): XattrMap | undefined {
    if (!records || (type !== 'file' && type !== 'dir' && type !== 'symlink')) return undefined;
    const found = xattrsFromPax(records, entryPath);
    if (found.size === 0) return undefined;
    const kept = selectXattrs(found, { entryPath, type, root: this.root });
    if (!kept) return undefined;
    for (const [name, value] of Object.entries(kept)) this.bytes += name.length + value.length;
    if (this.bytes > XATTR_LIMITS.layerBytes) {
      throw new LayerXattrError('LAYER_XATTR_TOO_LARGE', `the layer's extended attributes add up to more than ${XATTR_LIMITS.layerBytes} bytes`);
    }
    this.any = true;
    return kept;
  }
}

/**
 * Gives the layer's content files their recorded extended attributes (rootfs files are hardlinks
 * of them, so every rootfs gets them). Without `setfattr` the attributes are removed from the
 * entries, so the index says what is on disk, and `onWarning` is told once.
 */
export async function applyStoreXattrs(layerDir: string, entries: LayerEntry[], onWarning?: (w: XattrWarning) => void): Promise<void> {
  if (!(await setfattrAvailable())) {
    for (const e of entries) delete e.xattrs;
    onWarning?.(missingToolWarning());
    return;
  }
  const targets = entries.flatMap((e): XattrTarget[] =>
    e.type === 'file' && e.xattrs ? [{ path: storeFilePath(layerDir, e.id ?? -1), xattrs: e.xattrs, mode: modeOnDisk(e.mode, 'file', runningAsRoot()) }] : [],
  );
  await applyXattrs(targets, { root: runningAsRoot() });
}

/** A directory or symlink of a composed tree, with the header that set its metadata. */
export interface TreeXattrSource {
  path: string;
  entry: Pick<LayerEntry, 'mode' | 'xattrs'> | undefined;
}

/**
 * Gives the directories and symlinks of a freshly composed tree their recorded extended
 * attributes: unlike files, they are made at compose time, not linked from the store.
 */
export async function applyTreeXattrs(dest: string, dirs: TreeXattrSource[], symlinks: TreeXattrSource[]): Promise<void> {
  const at = (path: string) => (path === '' ? dest : join(dest, path));
  const targets = [
    ...dirs.flatMap(({ path, entry }): XattrTarget[] => (entry?.xattrs ? [{ path: at(path), xattrs: entry.xattrs, mode: modeOnDisk(entry.mode, 'dir', runningAsRoot()) }] : [])),
    // No mode: a chmod would follow the link.
    ...symlinks.flatMap(({ path, entry }): XattrTarget[] => (entry?.xattrs ? [{ path: at(path), xattrs: entry.xattrs }] : [])),
  ];
  await applyXattrs(targets, { root: runningAsRoot() });
}

/** Canonical text of an entry's attributes for the tree's Merkle summary ('' when it has none). */
export function xattrSummary(xattrs: XattrMap | undefined): string {
  if (!xattrs) return '';
  return Object.keys(xattrs)
    .sort()
    .map((name) => `\0${name}=${xattrs[name]!}`)
    .join('');
}
