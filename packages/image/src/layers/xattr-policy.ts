import { XATTR_LIMITS } from './limits.js';
import { LayerXattrError } from '../errors/xattr-errors.js';

/** Extended attributes as kept in a layer index: name → value in base64. */
export type XattrMap = Record<string, string>;

/** What the policy needs to know about the entry and the process. */
export interface XattrPolicyInput {
  entryPath: string;
  /** Only files, directories and symlinks carry extended attributes into a rootfs. */
  type: 'file' | 'dir' | 'symlink';
  /** `trusted.*` and `security.capability` can only be set with root's capabilities. */
  root: boolean;
}

/**
 * `<namespace>.<rest>`, the rest printable ASCII without space, `=` (it ends a PAX key) and `\`
 * (the escape of setfattr's restore file).
 */
const NAME = /^[a-z]+\.[\x21-\x3c\x3e-\x5b\x5d-\x7e]+$/;

/**
 * Which of an entry's extended attributes go into the rootfs:
 * - `user.*` on files and directories (Linux refuses them on symlinks);
 * - `security.capability` on files, and `trusted.*`, only when running as root;
 * - everything else is dropped: `security.selinux` (as umoci does: labels belong to the host
 *   policy), other `security.*` and `system.*` names (ACLs, IMA, …);
 * - an empty value is dropped, as Go's tar reader (umoci's) drops empty PAX records.
 * A malformed name, or a name or value over {@link XATTR_LIMITS}, throws {@link LayerXattrError}.
 */
export function selectXattrs(found: Map<string, Buffer>, input: XattrPolicyInput): XattrMap | undefined {
  let kept: XattrMap | undefined;
  let bytes = 0;
  for (const [name, value] of found) {
    checkName(name, input.entryPath);
    bytes += name.length + value.length;
    if (value.length > XATTR_LIMITS.valueBytes || bytes > XATTR_LIMITS.entryBytes) {
      throw new LayerXattrError(
        'LAYER_XATTR_TOO_LARGE',
        `entry ${JSON.stringify(input.entryPath)} has extended attributes over the limit ` +
          `(${XATTR_LIMITS.valueBytes} bytes per value, ${XATTR_LIMITS.entryBytes} per entry)`,
      );
    }
    if (value.length === 0 || !allowed(name, input)) continue;
    (kept ??= {})[name] = value.toString('base64');
  }
  return kept;
}

function checkName(name: string, entryPath: string): void {
  if (name.length > XATTR_LIMITS.nameBytes) {
    throw new LayerXattrError('LAYER_XATTR_TOO_LARGE', `entry ${JSON.stringify(entryPath)} has an extended attribute name over ${XATTR_LIMITS.nameBytes} bytes`);
  }
  if (!NAME.test(name)) {
    throw new LayerXattrError('LAYER_XATTR_INVALID', `entry ${JSON.stringify(entryPath)} has a malformed extended attribute name ${JSON.stringify(name)}`);
  }
}

function allowed(name: string, { type, root }: XattrPolicyInput): boolean {
  if (name.startsWith('user.')) return type !== 'symlink';
  if (name === 'security.capability') return root && type === 'file';
  if (name.startsWith('trusted.')) return root;
  return false;
}

/** Whether a name found on disk is one the policy could have set (others are the host's, not the image's). */
export function policyName(name: string): boolean {
  return name.startsWith('user.') || name.startsWith('trusted.') || name === 'security.capability';
}
