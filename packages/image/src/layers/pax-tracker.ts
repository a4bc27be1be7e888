import { Header, Pax, types } from 'tar';
import { parsePaxRecords } from './pax-xattr.js';
import { LayerXattrError } from '../errors/xattr-errors.js';

const BLOCK = 512;
/** node-tar ignores (and the extractor then refuses) meta entries larger than this. */
const MAX_META_BYTES = 1024 * 1024;

/** One file-system entry of the archive, as the tracker framed it. */
export interface TrackedEntry {
  /** Header checksum and body size: what ties this record to node-tar's entry. */
  cksum: number | undefined;
  size: number;
  /** The PAX records of the extended header(s) just before it, raw. */
  records: Map<string, Buffer> | undefined;
}

/** What the tracker needs of a header (node-tar's Header has these fields). */
type FramedHeader = Pick<Header, 'nullBlock' | 'cksumValid' | 'path' | 'cksum' | 'size' | 'type'>;

/** Typeflags of plain entries (NUL is an old-style file), and of meta entries with node-tar's names for them. */
const PLAIN_CODES = new Set([0, ...[...'01234567'].map((c) => c.charCodeAt(0))]);
const META_NAMES = new Map((['x', 'X', 'g', 'L', 'N', 'K'] as const).map((c) => [c.charCodeAt(0), types.name.get(c)!]));
const META_TYPE_NAMES = new Set(META_NAMES.values());
const DIR_CODE = 0x35;

/** node-tar's reading of an octal field, NaN as undefined. */
function octal(b: Buffer, off: number, size: number): number | undefined {
  const v = parseInt(b.subarray(off, off + size).toString('utf8').replace(/\0.*$/, '').trim(), 8);
  return Number.isNaN(v) ? undefined : v;
}

type Pending = Pax | (Record<string, unknown> & { path?: string; linkpath?: string });

/**
 * node-tar parses PAX headers into a fixed set of fields: it drops `SCHILY.xattr.*` records and
 * decodes bodies as UTF-8 text, which corrupts binary values. This tracker reads the same bytes
 * the parser is given, frames them as node-tar does (its Header and Pax classes decide sizes
 * wherever a PAX record or an unusual header is involved, so both agree on where every header is)
 * and keeps each entry's raw PAX records. Each parser entry is then matched with the next tracked
 * entry by checksum and size; a mismatch means the two disagree on the archive, and the layer is
 * refused.
 */
export class PaxTracker {
  private readonly queue: TrackedEntry[] = [];
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes of the current body still to skip (padding included) or to collect. */
  private skip = 0;
  private meta: { type: string; size: number; parts: Buffer[]; got: number } | undefined;
  private ex: Pending | undefined;
  private gex: Pax | undefined;
  private raw: Map<string, Buffer> | undefined;
  private sawNull = false;
  private done = false;
  private failure: Error | undefined;

  /** Feeds the next bytes of the uncompressed archive (before the parser gets them). */
  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.done && !this.failure) {
      if (this.meta) at += this.collect(chunk, at);
      else if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.onHeader();
        }
      }
    }
  }

  /** The tracked record for the entry node-tar emits next; throws when they disagree. */
  take(cksum: number | undefined, size: number): TrackedEntry {
    if (this.failure) throw this.failure;
    // The parser gets each chunk right after the tracker: the queue holds about one chunk's entries.
    const next = this.queue.shift();
    if (!next || next.cksum !== cksum || next.size !== size) {
      throw new LayerXattrError('LAYER_XATTR_INVALID', 'the PAX extended headers of the archive cannot be matched with its entries');
    }
    return next;
  }

  private onHeader(): void {
    const h = this.plainHeader() ?? this.decodeHeader();
    if (!h) return; // node-tar warns on such a block and reads the next one as a header
    if (h.nullBlock) {
      if (this.sawNull) this.done = true;
      this.sawNull = true;
      return;
    }
    this.sawNull = false;
    if (!h.cksumValid || !h.path) return;
    const size = h.size ?? 0;
    if (META_TYPE_NAMES.has(h.type)) {
      if (size > MAX_META_BYTES) this.skip = blocks(size);
      else if (size > 0) this.meta = { type: h.type, size, parts: [], got: 0 };
      return;
    }
    this.queue.push({ cksum: h.cksum, size, records: this.raw });
    this.ex = undefined;
    this.raw = undefined;
    this.skip = blocks(size);
  }

  private decodeHeader(): FramedHeader | undefined {
    try {
      return new Header(this.header, 0, this.ex as Pax | undefined, this.gex);
    } catch {
      return undefined;
    }
  }

  /**
   * The common header decoded without node-tar's Header class (which costs as much as the
   * parser's own pass): a named entry of a well-known type, octal size and checksum, and no PAX
   * record that could change its size. Anything else goes through Header. Same rule as
   * node-tar's: a directory has no body.
   */
  private plainHeader(): FramedHeader | undefined {
    const b = this.header;
    const code = b[156]!;
    const meta = META_NAMES.has(code);
    if (b[0] === 0 || b[124]! & 0x80 || b[148]! & 0x80 || !(meta || PLAIN_CODES.has(code))) return undefined;
    if (!meta && (this.ex !== undefined || this.gex !== undefined)) return undefined;
    const nul = b.indexOf(0);
    const nameEnd = nul < 0 || nul > 100 ? 100 : nul;
    const dir = code === DIR_CODE || ((code === 0x30 || code === 0) && b[nameEnd - 1] === 0x2f);
    return {
      nullBlock: false,
      // A block whose checksum is wrong makes the parser warn, and a warning refuses the layer
      // before any later entry is matched: no need to sum it here.
      cksumValid: true,
      path: 'named',
      cksum: octal(b, 148, 12),
      size: dir ? 0 : octal(b, 124, 12),
      type: meta ? META_NAMES.get(code)! : 'File',
    };
  }

  private collect(chunk: Buffer, at: number): number {
    const m = this.meta!;
    const n = Math.min(m.size - m.got, chunk.length - at);
    // A copy: the chunk's buffer is the decompressor's, and a body may span several chunks.
    m.parts.push(Buffer.from(chunk.subarray(at, at + n)));
    m.got += n;
    if (m.got < m.size) return n;
    this.meta = undefined;
    this.skip = blocks(m.size) - m.size;
    const body = Buffer.concat(m.parts);
    try {
      this.onMeta(m.type, body);
    } catch (err) {
      this.failure = err as Error;
    }
    return n;
  }

  private onMeta(type: string, body: Buffer): void {
    const text = body.toString('utf8');
    if (type === 'ExtendedHeader' || type === 'OldExtendedHeader') {
      this.ex = Pax.parse(text, this.ex as Pax | undefined, false);
      this.raw = new Map([...(this.raw ?? []), ...parsePaxRecords(body)]);
    } else if (type === 'GlobalExtendedHeader') {
      // Global records apply to sizes in node-tar; their xattrs are not applied (as in Go's reader).
      this.gex = Pax.parse(text, this.gex, true);
    } else {
      const ex = (this.ex ?? Object.create(null)) as Record<string, unknown>;
      ex[type === 'NextFileHasLongLinkpath' ? 'linkpath' : 'path'] = text.replace(/\0.*/s, '');
      this.ex = ex;
    }
  }
}

function blocks(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
