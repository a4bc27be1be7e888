import { LayerPathEscapeError } from '../errors/layer-errors.js';

/**
 * Normalises a tar entry name (or hardlink target) to a root-relative path without `.`,
 * empty components or trailing slashes; `''` is the root. A leading `/` means the image root,
 * as every OCI implementation reads it. `..` is resolved lexically and must never climb above
 * the root: such a name only comes from a hostile or broken archive, so the layer is refused
 * rather than silently relocated.
 */
export function normaliseEntryPath(raw: string): string {
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new LayerPathEscapeError(raw);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Splits a normalised path into its parent and its last component (`''` parent is the root). */
export function splitParent(path: string): { parent: string; name: string } {
  const i = path.lastIndexOf('/');
  return i < 0 ? { parent: '', name: path } : { parent: path.slice(0, i), name: path.slice(i + 1) };
}
