import { LayerFormatError } from '../errors/layer-errors.js';
import { splitParent } from './entry-path.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** What an OCI whiteout entry removes from the layers below it. */
export type Whiteout =
  /** `.wh.<name>`: remove `<name>` from the lower layers. */
  | { kind: 'whiteout'; path: string }
  /** `.wh..wh..opq`: hide everything the lower layers put in this directory. */
  | { kind: 'opaque'; path: string };

/**
 * Reads a normalised entry path as a whiteout, or returns undefined for an ordinary entry.
 * A whiteout must name a real sibling: `.wh.`, `.wh..` and `.wh...` are refused.
 */
export function parseWhiteout(path: string): Whiteout | undefined {
  const { parent, name } = splitParent(path);
  if (!name.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (name === OPAQUE_MARKER) return { kind: 'opaque', path: parent };
  const target = name.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..') {
    throw new LayerFormatError(`whiteout entry ${JSON.stringify(path)} names no file`);
  }
  return { kind: 'whiteout', path: parent === '' ? target : `${parent}/${target}` };
}
