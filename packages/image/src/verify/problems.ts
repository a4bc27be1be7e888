import type { RootfsRecord } from '../compose/compose.js';
import type { PathInfo } from './fs-worker-pool.js';
import { modeOnDisk } from '../layers/unprivileged-mode.js';

/** A field of a path that verification compares. */
export type VerifyField = 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'size' | 'digest' | 'target' | 'link' | 'xattrs';

/** One difference between a tree on disk and what was recorded when it was made. */
export interface VerifyProblem {
  /** Path relative to the rootfs (or, for a layer, the image path of the layer entry). `''` is the root. */
  path: string;
  /** `missing`: recorded, not on disk; `extra`: on disk, not recorded; `changed`: `field` differs. */
  kind: 'changed' | 'missing' | 'extra';
  field?: VerifyField;
  expected?: string | number;
  actual?: string | number;
}

/** The recorded metadata of one path. */
export type ExpectedMeta = Pick<RootfsRecord, 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'size'>;

/** What is on disk at a path (`mode` without the file type bits). */
export type FoundMeta = Pick<PathInfo, 'type' | 'mode' | 'uid' | 'gid' | 'mtimeMs' | 'size'>;

/**
 * Differences of type, mode, owner (when `owners`), mtime and size. Owners are compared only when
 * the tree was made as root: otherwise every path belongs to the user who made it. Mtimes are
 * recorded in ms and set through seconds, so the stat is rounded to the ms.
 */
export function compareStat(path: string, want: ExpectedMeta, st: FoundMeta, owners: boolean): VerifyProblem[] {
  const actualType = st.type;
  if (actualType !== want.type) return [{ path, kind: 'changed', field: 'type', expected: want.type, actual: actualType }];
  const out: VerifyProblem[] = [];
  const differ = (field: VerifyField, expected: number, actual: number, show: (n: number) => string | number = (n) => n) => {
    if (expected !== actual) out.push({ path, kind: 'changed', field, expected: show(expected), actual: show(actual) });
  };
  const octal = (n: number) => n.toString(8).padStart(4, '0');
  // Symlink permissions are always 0777 on Linux and cannot be set.
  // A tree unpacked without root gives its owner a few more bits (unprivileged-mode.ts).
  if (want.type !== 'symlink') differ('mode', modeOnDisk(want.mode, want.type, owners), st.mode, octal);
  if (owners) {
    differ('uid', want.uid, st.uid);
    differ('gid', want.gid, st.gid);
  }
  differ('mtime', want.mtime, Math.round(st.mtimeMs));
  if (want.type === 'file' && want.size !== undefined) differ('size', want.size, st.size);
  return out;
}

/** True when the current process makes trees with the recorded owners (compose chowns only as root). */
export function ownersApplied(): boolean {
  return process.getuid?.() === 0;
}
