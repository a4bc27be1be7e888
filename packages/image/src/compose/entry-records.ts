import type { LayerEntry, LayerEntryType } from '../layers/layer-index.js';

/** A layer entry as the composed tree keeps it: everything but its path. */
export type EntryMeta = Omit<LayerEntry, 'path'>;

const TYPES: LayerEntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'whiteout', 'opaque', 'device', 'fifo'];
const TYPE_CODE = new Map(TYPES.map((t, i) => [t, i]));
const DIGEST_PREFIX = 'sha256:';
const DIGEST_BYTES = 32;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Flags of a record: which optional fields the entry had. */
const HAS_SIZE = 1;
const HAS_ID = 2;
const HAS_DIGEST = 4;

/**
 * The layer entries a composed tree refers to, in columns: about 65 bytes per entry (the digest
 * as 32 raw bytes) where an object per entry costs several hundred. Link targets, device numbers,
 * extended attributes and any digest not of the usual form are kept aside by record number: few
 * entries have them. A record is numbered in the order added, from 0.
 */
export class EntryRecords {
  private cap = 0;
  private n = 0;
  private type = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private layer = new Uint16Array(0);
  private mode = new Uint16Array(0);
  private uid = new Uint32Array(0);
  private gid = new Uint32Array(0);
  private id = new Uint32Array(0);
  private mtime = new Float64Array(0);
  private size = new Float64Array(0);
  private digest = Buffer.alloc(0);
  private readonly linkname = new Map<number, string>();
  private readonly device = new Map<number, NonNullable<LayerEntry['device']>>();
  private readonly xattrs = new Map<number, Record<string, string>>();
  private readonly otherDigest = new Map<number, string>();

  get count(): number {
    return this.n;
  }

  /** Records `e`, created by layer `layer`; returns its number. */
  add(e: LayerEntry, layer: number): number {
    if (this.n === this.cap) this.grow();
    const r = this.n++;
    this.type[r] = TYPE_CODE.get(e.type) ?? 0;
    this.layer[r] = layer;
    this.mode[r] = e.mode;
    this.uid[r] = e.uid;
    this.gid[r] = e.gid;
    this.mtime[r] = e.mtime;
    let flags = 0;
    if (e.size !== undefined) {
      flags |= HAS_SIZE;
      this.size[r] = e.size;
    }
    if (e.id !== undefined) {
      flags |= HAS_ID;
      this.id[r] = e.id;
    }
    if (e.digest !== undefined) {
      flags |= HAS_DIGEST;
      if (DIGEST_RE.test(e.digest)) this.digest.write(e.digest.slice(DIGEST_PREFIX.length), r * DIGEST_BYTES, 'hex');
      else this.otherDigest.set(r, e.digest);
    }
    this.flags[r] = flags;
    if (e.linkname !== undefined) this.linkname.set(r, e.linkname);
    if (e.device !== undefined) this.device.set(r, e.device);
    if (e.xattrs !== undefined) this.xattrs.set(r, e.xattrs);
    return r;
  }

  typeOf(r: number): LayerEntryType {
    return TYPES[this.type[r]!]!;
  }

  layerOf(r: number): number {
    return this.layer[r]!;
  }

  linknameOf(r: number): string | undefined {
    return this.linkname.get(r);
  }

  hasXattrs(r: number): boolean {
    return this.xattrs.has(r);
  }

  /** The entry of record `r` as an object (made on each call). */
  get(r: number): EntryMeta {
    const e: EntryMeta = { type: this.typeOf(r), mode: this.mode[r]!, uid: this.uid[r]!, gid: this.gid[r]!, mtime: this.mtime[r]! };
    const flags = this.flags[r]!;
    if (flags & HAS_SIZE) e.size = this.size[r]!;
    if (flags & HAS_ID) e.id = this.id[r]!;
    if (flags & HAS_DIGEST) {
      e.digest = this.otherDigest.get(r) ?? `${DIGEST_PREFIX}${Buffer.from(this.digest.buffer, this.digest.byteOffset + r * DIGEST_BYTES, DIGEST_BYTES).toString('hex')}`;
    }
    const linkname = this.linkname.get(r);
    if (linkname !== undefined) e.linkname = linkname;
    const device = this.device.get(r);
    if (device !== undefined) e.device = device;
    const xattrs = this.xattrs.get(r);
    if (xattrs !== undefined) e.xattrs = xattrs;
    return e;
  }

  /** Makes room for `n` records in all, at once. */
  reserve(n: number): void {
    if (n > this.cap) this.grow(n);
  }

  private grow(to = Math.max(1024, Math.ceil(this.cap * 1.5))): void {
    const cap = to;
    this.type = resized(this.type, new Uint8Array(cap));
    this.flags = resized(this.flags, new Uint8Array(cap));
    this.layer = resized(this.layer, new Uint16Array(cap));
    this.mode = resized(this.mode, new Uint16Array(cap));
    this.uid = resized(this.uid, new Uint32Array(cap));
    this.gid = resized(this.gid, new Uint32Array(cap));
    this.id = resized(this.id, new Uint32Array(cap));
    this.mtime = resized(this.mtime, new Float64Array(cap));
    this.size = resized(this.size, new Float64Array(cap));
    const digest = Buffer.alloc(cap * DIGEST_BYTES);
    digest.set(this.digest);
    this.digest = digest;
    this.cap = cap;
  }
}

/** `to` with `from` copied to its start. */
export function resized<T extends Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
