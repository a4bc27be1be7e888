import type { FsWorkerPool, PathInfo } from './fs-worker-pool.js';
import { readLayerIndex, storeFilePath, type LayerEntry, type LayerIndex } from '../layers/layer-index.js';
import { compareStat, type VerifyProblem } from './problems.js';

/** What verification found in one layer of the layer store. */
export interface LayerVerdict {
  diffID: string;
  ok: boolean;
  /** Content files that differ from the layer index (`path` is the file's path in the image). */
  problems: VerifyProblem[];
  /** Why the layer could not be checked at all (missing, unreadable index). */
  error?: string;
  /** Set by a repair that removed the layer. */
  repaired?: boolean;
}

/** A checked layer: its verdict, its index when readable, and its content files found intact. */
export interface LayerCheck {
  verdict: LayerVerdict;
  index?: LayerIndex;
  /** `dev:ino` of each intact content file → its digest, so a rootfs linking it need not re-hash it. */
  intact: Map<string, string>;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Re-hashes every content file of a stored layer and compares it, with its mode, owner, mtime and
 * size, against the index written while the layer was extracted. Rootfs files are hardlinks to
 * these files, so a write through any rootfs shows up here.
 */
export async function checkLayer(dir: string, diffID: string, opts: { fs: FsWorkerPool; owners: boolean }): Promise<LayerCheck> {
  const intact = new Map<string, string>();
  let index: LayerIndex;
  try {
    index = await readLayerIndex(dir);
  } catch (err) {
    const error = errno(err) === 'ENOENT' ? 'the layer is missing from the layer store' : `its index is unreadable (${(err as Error).message})`;
    return { verdict: { diffID, ok: false, problems: [], error }, intact };
  }
  if (index.diffID !== diffID) {
    return { verdict: { diffID, ok: false, problems: [], error: `its index describes ${index.diffID}` }, intact };
  }
  const files = index.entries.filter((e) => e.type === 'file');
  const found = (await opts.fs.run(files.map((e) => ({ op: 'stat', path: storeFilePath(dir, e.id ?? -1), hash: true })))) as PathInfo[];
  const problems = files.flatMap((e, i) => compareContentFile(e, found[i]!, opts.owners, intact));
  return { verdict: { diffID, ok: problems.length === 0, problems }, index, intact };
}

function compareContentFile(e: LayerEntry, st: PathInfo, owners: boolean, intact: Map<string, string>): VerifyProblem[] {
  if (st.error !== undefined) return [{ path: e.path, kind: 'missing' }];
  const problems = compareStat(e.path, { type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size: e.size ?? 0 }, st, owners);
  if (st.type !== 'file') return problems;
  const actual = st.digest ?? 'not a regular file';
  if (actual !== e.digest) problems.push({ path: e.path, kind: 'changed', field: 'digest', expected: e.digest ?? '', actual });
  if (problems.length === 0) intact.set(st.inode, actual);
  return problems;
}
