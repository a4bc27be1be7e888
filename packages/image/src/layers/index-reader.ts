import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { LAYER_INDEX_FILE, type LayerEntry, type LayerIndex } from './layer-index.js';

/** What a layer index says besides its entries, and how many entries it has. */
export type LayerTotals = Omit<LayerIndex, 'entries'> & { entryCount: number };

/** Bytes read from an index file at a time. */
const READ_CHUNK = 256 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Reads a stored layer's index as a stream: each entry is parsed on its own and handed to
 * `onEntry` in archive order, so no list of them (nor the file as one string) is ever held. The
 * index is the JSON object {@link saveLayerIndex} and the index writer make, its members in any
 * order. Without `onEntry` the entries are skipped unparsed: what is left is the totals.
 * Fails as {@link readLayerIndex} does when the file is missing or of an unknown version.
 */
export async function readLayerEntries(layerDir: string, onEntry?: (entry: LayerEntry) => void): Promise<LayerTotals> {
  const scanner = new IndexScanner(onEntry);
  const fh = await open(join(layerDir, LAYER_INDEX_FILE), 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      scanner.write(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  const totals = scanner.end();
  if (totals === undefined) {
    throw new Error(`layer index in ${layerDir} has an unknown format; remove the layer directory to re-extract it`);
  }
  return totals;
}

/** A stored layer's totals (unpacked bytes, files, skipped nodes, entries), its entries skipped unparsed. */
export function readLayerTotals(layerDir: string): Promise<LayerTotals> {
  return readLayerEntries(layerDir);
}

/**
 * Splits a layer index, fed in chunks, into the members of its top-level object (kept as text,
 * they are small) and the elements of its `entries` array (each parsed alone as it ends). It
 * follows only strings and nesting; JSON.parse checks the rest.
 */
class IndexScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The `entries` array is open: its elements are not part of the top-level text. */
  private inEntries = false;
  private sawEntries = false;
  private count = 0;
  /** The last string at depth 1 (a key, or a short value), first characters only. */
  private depth1String = '';
  private collecting1 = false;
  private readonly top: Buffer[] = [];
  private entry: Buffer[] = [];

  constructor(private readonly onEntry: ((entry: LayerEntry) => void) | undefined) {}

  write(b: Buffer): void {
    let topStart = this.inEntries ? -1 : 0;
    let entryStart = this.inEntries && this.entry.length > 0 ? 0 : -1;
    const n = b.length;
    for (let i = 0; i < n; i++) {
      const c = b[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (!this.collecting1) {
          // Most bytes are inside strings (paths, digests): jump to the string's end.
          i = this.skipString(b, i) - 1;
        } else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (this.depth1String.length < 16) this.depth1String += String.fromCharCode(c);
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        this.collecting1 = this.depth === 1;
        if (this.collecting1) this.depth1String = '';
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        if (this.depth === 2 && c === OPEN_BRACKET && !this.inEntries && !this.sawEntries && this.depth1String === 'entries') {
          // The top-level text keeps an empty array in its place.
          this.top.push(Buffer.from(b.subarray(topStart, i + 1)));
          topStart = -1;
          this.inEntries = true;
          this.sawEntries = true;
        } else if (this.inEntries && this.depth === 3 && c === OPEN_BRACE) {
          entryStart = i;
          this.count++;
        }
        continue;
      }
      if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.inEntries && this.depth === 3 && c === CLOSE_BRACE && entryStart >= 0) {
          this.emit(b.subarray(entryStart, i + 1));
          entryStart = -1;
        } else if (this.inEntries && this.depth === 2 && c === CLOSE_BRACKET) {
          this.inEntries = false;
          topStart = i;
        }
        this.depth--;
      }
    }
    if (topStart >= 0) this.top.push(Buffer.from(b.subarray(topStart)));
    if (entryStart >= 0 && this.onEntry) this.entry.push(Buffer.from(b.subarray(entryStart)));
  }

  /**
   * From `i`, inside a string and not after a backslash: the position after its closing quote,
   * or `b.length` when it goes on in the next chunk (with the escape state that chunk starts in).
   */
  private skipString(b: Buffer, i: number): number {
    for (let from = i; ; ) {
      const q = b.indexOf(QUOTE, from);
      const end = q < 0 ? b.length : q;
      let k = end;
      while (k > from && b[k - 1] === BACKSLASH) k--;
      const escapedEnd = (end - k) % 2 === 1;
      if (q < 0) {
        this.escaped = escapedEnd;
        return b.length;
      }
      if (!escapedEnd) {
        this.inString = false;
        return q + 1;
      }
      from = q + 1;
    }
  }

  /** The totals, or undefined when the text is not an index of a known version. */
  end(): LayerTotals | undefined {
    if (this.depth !== 0 || this.inString || !this.sawEntries) return undefined;
    const parsed = JSON.parse(Buffer.concat(this.top).toString('utf8')) as LayerIndex | null;
    if (parsed?.version !== 1 || !Array.isArray(parsed.entries)) return undefined;
    const { entries: _, ...totals } = parsed;
    return { ...totals, entryCount: this.count };
  }

  private emit(tail: Buffer): void {
    if (!this.onEntry) return;
    const text = this.entry.length === 0 ? tail.toString('utf8') : Buffer.concat([...this.entry, tail]).toString('utf8');
    this.entry = [];
    this.onEntry(JSON.parse(text) as LayerEntry);
  }
}
