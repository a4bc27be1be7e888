import { lstat, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compression } from 'oci-client-lite';
import { buildImage, type BuiltImage } from './image.js';
import { makeLayer } from './layer.js';
import type { TarEntry } from './tar-writer.js';
import { diffTrees, snapshotTree, type TreeEntry } from '../files/tree.js';

/**
 * Every file a hostile layer tries to plant outside its rootfs is named with this prefix, so a
 * test can search a whole directory tree (cache included) for names that escaped.
 */
export const ESCAPE_MARKER = 'bbox-escape';

/** One layer of a hostile image: tar entries (or a raw tar) and how the blob is described. */
export interface HostileLayer {
  entries?: TarEntry[];
  /** A ready tar archive, used instead of `entries`. */
  tar?: Buffer;
  /** Default gzip. */
  compression?: Compression;
  /** Media type written in the manifest instead of the usual one. */
  mediaType?: string;
}

/**
 * What must hold after pulling a hostile image.
 * - `refused`: the pull fails with an error whose `code` is one of `codes`.
 * - `contained`: the pull either fails with a named error (any `code`) or succeeds; either way
 *   nothing outside the rootfs changes. When it succeeds, `present` paths exist in the rootfs
 *   (proof the layer was applied, not skipped).
 */
export type HostileExpectation = { kind: 'refused'; codes: string[] } | { kind: 'contained'; present?: string[] };

/** One hostile image of the corpus. */
export interface HostileCase {
  /** Stable identifier, usable as a repository name. */
  name: string;
  /** The attack, in a sentence. */
  threat: string;
  layers: HostileLayer[];
  /** Rewrites the config's `rootfs.diff_ids` (the config lies about the layers); gets the true diffIDs and the blob digests. */
  editDiffIDs?: (diffIDs: string[], blobDigests: string[]) => string[];
  /** Extraction limits to pull with (lowered so bombs stay small). */
  limits?: { maxBytes?: number; maxEntries?: number };
  expect: HostileExpectation;
}

/** Where the corpus aims: an absolute host directory the test snapshots before and after. */
export interface CorpusTarget {
  /** Absolute path of the victim directory; it should hold a file `passwd` and a directory `etc`. */
  victim: string;
}

/** Enough `..` to climb from any rootfs to the host root, then down to `abs` (an absolute path). */
export function climbTo(abs: string, depth = 32): string {
  return `${'../'.repeat(depth)}${abs.replace(/^\/+/, '')}`;
}

function file(path: string, content = 'escaped\n'): TarEntry {
  return { path, type: 'file', content };
}

function marker(name: string): string {
  return `${ESCAPE_MARKER}-${name}`;
}

const MIB = 1024 * 1024;

function traversalCases(victim: string): HostileCase[] {
  return [
    {
      name: 'traversal-dotdot',
      threat: 'an entry named ../x climbs out of the rootfs',
      layers: [{ entries: [file('ok'), file(`../${marker('dotdot')}`)] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'traversal-nested',
      threat: 'an entry a/../../x climbs out after a legitimate component',
      layers: [{ entries: [{ path: 'a/', type: 'dir' }, file(`a/../../${marker('nested')}`)] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'traversal-to-victim',
      threat: 'an entry climbs to the host root and down into a host directory',
      layers: [{ entries: [file(climbTo(`${victim}/${marker('deep')}`)), file(climbTo(`${victim}/passwd`), 'overwritten\n')] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'absolute-path',
      threat: 'absolute entry names point at host paths',
      layers: [{ entries: [file('ok'), file(`${victim}/${marker('abs')}`), file(`${victim}/passwd`, 'overwritten\n')] }],
      expect: { kind: 'contained', present: ['ok'] },
    },
  ];
}

function symlinkCases(victim: string): HostileCase[] {
  return [
    {
      name: 'symlink-root-write',
      threat: 'a symlink to / followed by a write through it into a host directory',
      layers: [{ entries: [{ path: 'evil', type: 'symlink', linkname: '/' }, file(`evil${victim}/${marker('root')}`)] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-victim-write',
      threat: 'a symlink to a host directory, then files written and overwritten through it',
      layers: [
        {
          entries: [
            { path: 'evil', type: 'symlink', linkname: victim },
            file(`evil/${marker('sym')}`),
            file('evil/passwd', 'overwritten\n'),
            { path: 'evil/etc/', type: 'dir', mode: 0o777 },
          ],
        },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-relative-climb',
      threat: 'a relative symlink that climbs to a host directory, then a write through it',
      layers: [{ entries: [{ path: 'evil', type: 'symlink', linkname: climbTo(victim) }, file(`evil/${marker('rel')}`)] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-chain',
      threat: 'a chain a -> b, b -> ../.. and a write through the chain',
      layers: [
        {
          entries: [
            { path: 'a', type: 'symlink', linkname: 'b' },
            { path: 'b', type: 'symlink', linkname: '../..' },
            file(`a/${marker('chain')}`),
          ],
        },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-chain-victim',
      threat: 'a chain through a directory symlink that climbs to a host directory',
      layers: [
        {
          entries: [
            { path: 'd/', type: 'dir' },
            { path: 'd/up', type: 'symlink', linkname: '../../../../../../../../../../../../../../..' },
            { path: 'a', type: 'symlink', linkname: `d/up${victim}` },
            file(`a/${marker('chain2')}`),
            file('a/passwd', 'overwritten\n'),
          ],
        },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-across-layers',
      threat: 'layer 1 plants a symlink to a host directory, layer 2 writes through it',
      layers: [
        { entries: [{ path: 'evil', type: 'symlink', linkname: victim }] },
        { entries: [file(`evil/${marker('cross')}`), file('evil/passwd', 'overwritten\n')] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'symlink-then-dir-across-layers',
      threat: 'layer 2 sends a directory entry at the symlink path, then a file below it',
      layers: [
        { entries: [{ path: 'evil', type: 'symlink', linkname: victim }] },
        { entries: [{ path: 'evil/', type: 'dir', mode: 0o777 }, file(`evil/${marker('dirover')}`)] },
      ],
      expect: { kind: 'contained', present: [`evil/${marker('dirover')}`] },
    },
    {
      name: 'symlink-parent-across-layers',
      threat: 'a symlinked parent directory from a lower layer used as a path component',
      layers: [
        { entries: [{ path: 'usr/', type: 'dir' }, { path: 'usr/lib', type: 'symlink', linkname: `${victim}/etc` }] },
        { entries: [file(`usr/lib/${marker('parent')}`)] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'root-replaced-by-symlink',
      threat: 'an entry for the root itself as a symlink to a host directory, then a write',
      layers: [{ entries: [{ path: './', type: 'symlink', linkname: victim }, file(marker('rootsym'))] }],
      expect: { kind: 'contained' },
    },
  ];
}

function hardlinkCases(victim: string): HostileCase[] {
  return [
    {
      name: 'hardlink-etc-passwd',
      threat: 'a hardlink to the host /etc/passwd',
      layers: [{ entries: [{ path: 'pw', type: 'hardlink', linkname: '/etc/passwd' }] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'hardlink-victim-absolute',
      threat: 'a hardlink to a host file by absolute path, then a write to the link',
      layers: [
        { entries: [file(`${victim.slice(1)}/passwd`, 'image copy\n'), { path: 'pw', type: 'hardlink', linkname: `${victim}/passwd` }] },
        { entries: [file('pw', 'overwritten\n')] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'hardlink-climb',
      threat: 'a hardlink whose target climbs out with ..',
      layers: [{ entries: [{ path: 'pw', type: 'hardlink', linkname: climbTo(`${victim}/passwd`) }] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'hardlink-through-symlink',
      threat: 'a hardlink whose target goes through a symlinked directory to a host file',
      layers: [
        { entries: [{ path: 'd', type: 'symlink', linkname: victim }] },
        { entries: [{ path: 'pw', type: 'hardlink', linkname: 'd/passwd' }, file('pw', 'overwritten\n')] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'hardlink-then-symlink-swap',
      threat: 'a file hardlinked, then its name swapped for a symlink to a host file and written',
      layers: [
        { entries: [file('f', 'inside\n'), { path: 'h', type: 'hardlink', linkname: 'f' }] },
        { entries: [{ path: 'f', type: 'symlink', linkname: `${victim}/passwd` }, { path: 'h2', type: 'hardlink', linkname: 'f' }] },
      ],
      expect: { kind: 'contained' },
    },
  ];
}

function whiteoutCases(victim: string): HostileCase[] {
  return [
    {
      name: 'whiteout-through-symlink',
      threat: 'a whiteout below a symlink to a host directory deletes a host file',
      layers: [
        { entries: [{ path: 'evil', type: 'symlink', linkname: victim }] },
        { entries: [file('evil/.wh.passwd', '')] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'opaque-through-symlink',
      threat: 'an opaque whiteout below a symlink to a host directory empties it',
      layers: [
        { entries: [{ path: 'evil', type: 'symlink', linkname: victim }] },
        { entries: [file('evil/.wh..wh..opq', '')] },
      ],
      expect: { kind: 'contained' },
    },
    {
      name: 'whiteout-climb',
      threat: 'a whiteout whose path climbs out with .. deletes a host file',
      layers: [{ entries: [file('ok')] }, { entries: [file(climbTo(`${victim}/.wh.passwd`), '')] }],
      expect: { kind: 'contained' },
    },
    {
      name: 'whiteout-absolute',
      threat: 'a whiteout with an absolute host path',
      layers: [{ entries: [file('ok')] }, { entries: [file(`${victim}/.wh.passwd`, ''), file(`${victim}/.wh..wh..opq`, '')] }],
      expect: { kind: 'contained', present: ['ok'] },
    },
    {
      name: 'whiteout-dotdot-name',
      threat: 'a whiteout of the name .. (i.e. of the parent directory)',
      layers: [{ entries: [{ path: 'a/', type: 'dir' }, file('a/ok')] }, { entries: [file('a/.wh...', '')] }],
      expect: { kind: 'contained' },
    },
  ];
}

function specialFileCases(): HostileCase[] {
  return [
    {
      name: 'device-nodes',
      threat: 'character and block device nodes (a raw disk, /dev/mem) and a fifo',
      layers: [
        {
          entries: [
            { path: 'dev/', type: 'dir' },
            { path: 'dev/mem2', type: 'char', devmajor: 1, devminor: 1 },
            { path: 'dev/sda9', type: 'block', devmajor: 8, devminor: 0 },
            { path: 'dev/fifo', type: 'fifo' },
            file('dev/ok'),
          ],
        },
      ],
      expect: { kind: 'contained', present: ['dev/ok'] },
    },
    {
      name: 'unknown-entry-type',
      threat: 'an entry with a typeflag no tar implementation defines',
      layers: [{ entries: [file('ok'), { path: 'weird', type: 'file', typeflag: 'Z', content: 'x' }] }],
      expect: { kind: 'contained' },
    },
  ];
}

function integrityCases(): HostileCase[] {
  const zero = '0'.repeat(64);
  return [
    {
      name: 'diffid-wrong',
      threat: 'the config lists a diffID the layer does not hash to',
      layers: [{ entries: [file('ok')] }],
      editDiffIDs: (ids) => ids.map(() => `sha256:${zero.slice(1)}1`),
      expect: { kind: 'refused', codes: ['DIFFID_MISMATCH'] },
    },
    {
      name: 'diffid-swapped',
      threat: 'the config lists the diffIDs of two layers in the wrong order',
      layers: [{ entries: [file('one')] }, { entries: [file('two')] }],
      editDiffIDs: (ids) => [...ids].reverse(),
      expect: { kind: 'refused', codes: ['DIFFID_MISMATCH'] },
    },
    {
      name: 'diffid-of-compressed',
      threat: 'the config lists the compressed digest as the diffID',
      layers: [{ entries: [file('ok')] }],
      editDiffIDs: (_ids, blobs) => blobs,
      expect: { kind: 'refused', codes: ['DIFFID_MISMATCH'] },
    },
  ];
}

function bombCases(): HostileCase[] {
  const manyFiles: TarEntry[] = [{ path: 'many/', type: 'dir' }];
  for (let i = 0; i < 3000; i++) manyFiles.push({ path: `many/${i}`, type: 'file', content: '' });
  return [
    {
      name: 'decompression-bomb',
      threat: '24 MiB of zeros in a ~25 KiB blob, pulled with an 8 MiB limit',
      layers: [{ entries: [{ path: 'zeros', type: 'file', content: Buffer.alloc(24 * MIB) }] }],
      limits: { maxBytes: 8 * MIB },
      expect: { kind: 'refused', codes: ['LAYER_BYTE_LIMIT', 'INVALID_IMAGE'] },
    },
    {
      name: 'bomb-across-layers',
      threat: 'three 4 MiB layers that only together exceed an 8 MiB limit',
      layers: [0, 1, 2].map((i) => ({ entries: [{ path: `zeros${i}`, type: 'file' as const, content: Buffer.alloc(4 * MIB, i) }] })),
      limits: { maxBytes: 8 * MIB },
      expect: { kind: 'refused', codes: ['LAYER_BYTE_LIMIT', 'INVALID_IMAGE'] },
    },
    {
      name: 'entry-bomb',
      threat: '3001 entries pulled with a limit of 1000 entries per layer',
      layers: [{ entries: manyFiles }],
      limits: { maxEntries: 1000 },
      expect: { kind: 'refused', codes: ['LAYER_ENTRY_LIMIT'] },
    },
    {
      name: 'absurd-header-size',
      threat: 'a header claiming an 8 GiB file that holds 16 bytes',
      layers: [{ entries: [file('ok'), { path: 'huge', type: 'file', content: 'sixteen bytes...', sizeOverride: 8 ** 11 - 1 }, file('after')] }],
      expect: { kind: 'refused', codes: ['LAYER_BAD_TAR', 'LAYER_BYTE_LIMIT'] },
    },
    {
      name: 'absurd-pax-size',
      threat: 'a PAX size record of 10^15 bytes on a 16-byte file',
      layers: [{ entries: [{ path: 'huge', type: 'file', content: 'sixteen bytes...', pax: { size: '1000000000000000' } }, file('after')] }],
      expect: { kind: 'refused', codes: ['LAYER_BAD_TAR', 'LAYER_BYTE_LIMIT'] },
    },
    {
      name: 'negative-pax-size',
      threat: 'a PAX size record that is negative',
      layers: [{ entries: [{ path: 'neg', type: 'file', content: 'x', pax: { size: '-512' } }, file('after')] }],
      expect: { kind: 'contained' },
    },
  ];
}

function mediaTypeCases(): HostileCase[] {
  return [
    {
      name: 'non-distributable-layer',
      threat: 'a non-distributable (foreign) layer whose content lives elsewhere',
      layers: [{ entries: [file('ok')], mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }],
      expect: { kind: 'refused', codes: ['UNSUPPORTED_MEDIA_TYPE'] },
    },
    {
      name: 'docker-foreign-layer',
      threat: 'a Docker foreign layer',
      layers: [{ entries: [file('ok')], mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }],
      expect: { kind: 'refused', codes: ['UNSUPPORTED_MEDIA_TYPE'] },
    },
    {
      name: 'unknown-layer-type',
      threat: 'a layer media type no runtime knows',
      layers: [{ entries: [file('ok')], mediaType: 'application/x-bbox-unknown' }],
      expect: { kind: 'refused', codes: ['UNSUPPORTED_MEDIA_TYPE'] },
    },
    {
      name: 'gzip-labelled-plain',
      threat: 'an uncompressed tar labelled as gzip',
      layers: [{ entries: [file('ok')], compression: 'none', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
      expect: { kind: 'refused', codes: ['LAYER_DECOMPRESS', 'LAYER_BAD_TAR'] },
    },
    {
      name: 'double-gzip',
      threat: 'a gzip blob whose content is itself gzip, not tar',
      layers: [{ tar: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }],
      expect: { kind: 'refused', codes: ['LAYER_BAD_TAR'] },
    },
  ];
}

/**
 * The corpus of hostile images: traversal, absolute paths, symlink escapes (direct, chained,
 * across layers), hardlink escapes, whiteouts through symlinks, device nodes, lying diffIDs,
 * decompression and entry bombs under lowered limits, absurd header sizes, non-distributable
 * and unknown media types. Every escape aims at `target.victim` or names its file with
 * {@link ESCAPE_MARKER}.
 */
export function hostileCorpus(target: CorpusTarget): HostileCase[] {
  const { victim } = target;
  if (!victim.startsWith('/')) throw new TypeError(`victim must be an absolute path, got ${JSON.stringify(victim)}`);
  return [
    ...traversalCases(victim),
    ...symlinkCases(victim),
    ...hardlinkCases(victim),
    ...whiteoutCases(victim),
    ...specialFileCases(),
    ...integrityCases(),
    ...bombCases(),
    ...mediaTypeCases(),
  ];
}

/** Builds the image of a corpus case: its layers (as described) and a config that may lie. */
export function buildHostileImage(c: HostileCase): BuiltImage {
  const layers = c.layers.map((l) => {
    const opts = { compression: l.compression ?? ('gzip' as const), ...(l.mediaType ? { mediaType: l.mediaType } : {}) };
    return makeLayer(l.tar ?? l.entries ?? [], opts);
  });
  const edit = c.editDiffIDs;
  return buildImage({
    layers,
    config: { Cmd: ['/bin/sh'] },
    ...(edit
      ? {
          editConfig: (config) => ({
            ...config,
            rootfs: { type: 'layers' as const, diff_ids: edit(config.rootfs.diff_ids, layers.map((l) => l.digest)) },
          }),
        }
      : {}),
  });
}

/** A host directory hostile layers aim at, and its state (tree plus inode numbers and link counts). */
export interface VictimState {
  tree: TreeEntry[];
  links: Map<string, { ino: number; nlink: number }>;
}

/** Creates the victim directory: `passwd`, `keep`, `etc/` and `etc/keep`, all things layers try to change. */
export async function makeVictim(dir: string): Promise<void> {
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'passwd'), 'root:x:0:0:host secret:/root:/bin/sh\n');
  await writeFile(join(dir, 'keep'), 'keep me\n');
  await writeFile(join(dir, 'etc', 'keep'), 'keep me too\n');
}

/** Snapshots a victim directory with the link counts a hardlink escape would raise. */
export async function victimState(dir: string): Promise<VictimState> {
  const tree = await snapshotTree(dir);
  const links = new Map<string, { ino: number; nlink: number }>();
  for (const e of tree) {
    const st = await lstat(e.path === '.' ? dir : join(dir, e.path));
    links.set(e.path, { ino: st.ino, nlink: st.nlink });
  }
  return { tree, links };
}

/** Every difference between two victim states, as readable lines (empty when untouched). */
export function victimChanges(before: VictimState, after: VictimState): string[] {
  const out = diffTrees(before.tree, after.tree).map((d) => `${d.kind} ${d.path}${d.field ? ` (${String(d.field)}: ${String(d.a)} -> ${String(d.b)})` : ''}`);
  for (const [path, a] of before.links) {
    const b = after.links.get(path);
    if (b && (a.ino !== b.ino || a.nlink !== b.nlink)) out.push(`links of ${path}: inode ${a.ino}/${b.ino}, nlink ${a.nlink} -> ${b.nlink}`);
  }
  return out;
}

/**
 * Paths under `root` whose name starts with {@link ESCAPE_MARKER}, except inside directories
 * for which `allowed(relativePath)` is true (the rootfs directories, where such a name is harmless).
 */
export async function findEscapes(root: string, allowed: (rel: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    if (rel && allowed(rel)) return;
    const abs = rel ? join(root, rel) : root;
    let names: string[];
    try {
      names = await readdir(abs);
    } catch {
      return;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      if (name.startsWith(ESCAPE_MARKER) && !allowed(child)) found.push(child);
      const st = await lstat(join(abs, name)).catch(() => undefined);
      if (st?.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return found;
}

/**
 * Files of `rootfs` that share an inode with a file of `hostDirs` or with one of `hostFiles`
 * (a hardlink escape: writing the rootfs would write the host file).
 */
export async function sharedInodes(rootfs: string, hostDirs: string[], hostFiles: string[] = ['/etc/passwd']): Promise<string[]> {
  const host = new Map<string, string>();
  for (const f of hostFiles) {
    const st = await stat(f).catch(() => undefined);
    if (st) host.set(`${st.dev}:${st.ino}`, f);
  }
  for (const d of hostDirs) {
    for (const e of await snapshotTree(d)) {
      if (e.type !== 'file') continue;
      const st = await lstat(join(d, e.path));
      host.set(`${st.dev}:${st.ino}`, join(d, e.path));
    }
  }
  const out: string[] = [];
  for (const e of await snapshotTree(rootfs)) {
    if (e.type !== 'file') continue;
    const st = await lstat(join(rootfs, e.path));
    const hit = host.get(`${st.dev}:${st.ino}`);
    if (hit) out.push(`${e.path} is the host file ${hit}`);
  }
  return out;
}
