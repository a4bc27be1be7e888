import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { Readable } from 'node:stream';
import { cacheInternals, type Cache } from '../cache/cache.js';
import { readEntryMeta } from '../cache/entry-meta.js';
import { EntryNotFoundError } from '../errors/cache-errors.js';
import { ExportSourceDamagedError } from '../errors/export-errors.js';
import { readLayerIndex, storeFilePath, type LayerIndex } from '../layers/layer-index.js';
import type { TarMember } from './tar-records.js';

// The tar encoder and the tree model are loaded when an export starts: importing the package
// (as every cached pull does) must not load `tar`.
type TarRecords = typeof import('./tar-records.js');
type TreeModel = typeof import('../compose/tree-model.js');

/** Options of {@link exportRootfs}. */
export interface ExportOptions {
  signal?: AbortSignal;
}

// What compose gives a directory that no layer described (an implied parent).
const IMPLIED_DIR = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
const CHUNK = 1 << 20;

interface Source {
  dirs: string[];
  indexes: LayerIndex[];
  tar: TarRecords;
  tree: TreeModel;
}

function meta(e: { mode: number; uid: number; gid: number; mtime: number; xattrs?: Record<string, string> }) {
  return { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, ...(e.xattrs ? { xattrs: e.xattrs } : {}) };
}

/** Reads a layer store content file: never through a symlink, and exactly the size recorded. */
async function* content(path: string, size: number, digest: string, member: string): AsyncGenerator<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== size) throw new ExportSourceDamagedError(digest, `${member}: the layer store file is ${st.size} bytes, ${size} recorded`);
    let done = 0;
    while (done < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, done);
      if (bytesRead === 0) throw new ExportSourceDamagedError(digest, `${member}: the layer store file ended early`);
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * The members of the tree, parents before children and siblings sorted, with the layer entry's
 * owners, modes, mtimes and xattrs. The root itself is not a member: extracting must not change
 * the directory extracted into.
 */
async function* members(src: Source, digest: string): AsyncGenerator<Buffer> {
  const { memberHeader, padding, END_OF_ARCHIVE } = src.tar;
  const tree = src.tree.buildTree(src.indexes);
  const firstPath = new Map<number, string>();
  async function* walk(dir: number, path: string): AsyncGenerator<Buffer> {
    for (const [name, child] of tree.sortedChildren(dir)) {
      const p = path === '' ? name : `${path}/${name}`;
      if (tree.isDir(child)) {
        yield memberHeader({ path: `${p}/`, type: 'Directory', ...meta(tree.dirEntry(child) ?? IMPLIED_DIR) });
        yield* walk(child, p);
        continue;
      }
      const inode = tree.inode(child);
      const kind = tree.inodeKind(inode);
      // Devices and FIFOs are recorded but never made in a rootfs, so they are not exported either.
      if (kind === 'special') continue;
      const e = tree.entry(inode);
      const linked = firstPath.get(inode);
      if (linked !== undefined) {
        yield memberHeader({ path: p, type: 'Link', linkpath: linked, ...meta(e), mode: e.mode });
        continue;
      }
      firstPath.set(inode, p);
      if (kind === 'symlink') {
        yield memberHeader({ path: p, type: 'SymbolicLink', linkpath: e.linkname ?? '', ...meta(e) });
        continue;
      }
      const size = e.size ?? 0;
      const m: TarMember = { path: p, type: 'File', size, ...meta(e) };
      yield memberHeader(m);
      if (size > 0) yield* content(storeFilePath(src.dirs[tree.layerOf(inode)]!, e.id ?? 0), size, digest, p);
      yield padding(size);
    }
  }
  yield* walk(tree.root, '');
  yield END_OF_ARCHIVE;
}

/**
 * The rootfs of a cached entry as a tar stream (POSIX pax): what `docker export` or
 * `crane export` give, with the image's own owners, modes, mtimes and extended attributes as its
 * layers recorded them (not the host's, so a rootless cache exports the same archive). Paths are
 * relative (`etc/passwd`), the root directory is not a member, hardlinks within the image are tar
 * hardlinks, symlinks are members (never followed), devices and FIFOs (which a rootfs never holds)
 * are left out. The content is read from the layer store the rootfs shares its files with. The
 * entry is held until the stream ends or is destroyed.
 * @throws EntryNotFoundError when the entry is not cached; the stream errors with ExportSourceDamagedError
 * when a layer's files do not match what was recorded.
 */
export async function exportRootfs(cache: Cache, digest: string, opts: ExportOptions = {}): Promise<Readable> {
  const layout = await cacheInternals(cache).layout();
  const held = await cache.holdEntry(digest);
  if (!held) throw new EntryNotFoundError(digest, 'export it');
  try {
    const entry = await readEntryMeta(layout.entryFile(held.rootfs.digest, 'meta'), held.rootfs.digest);
    if (!entry) throw new EntryNotFoundError(digest, 'export it');
    const dirs = entry.layers.map((l) => layout.layerDir(l.diffID));
    const [indexes, tar, tree] = await Promise.all([Promise.all(dirs.map((d) => readLayerIndex(d))), import('./tar-records.js'), import('../compose/tree-model.js')]);
    const stream = Readable.from(members({ dirs, indexes, tar, tree }, entry.digest), { objectMode: false, ...(opts.signal ? { signal: opts.signal } : {}) });
    stream.once('close', () => void held.release());
    return stream;
  } catch (err) {
    await held.release();
    throw err;
  }
}
