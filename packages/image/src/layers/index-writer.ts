import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAYER_INDEX_FILE, type LayerEntry, type LayerIndex } from './layer-index.js';

/** Serialised entries gathered before one write: a few hundred KiB keeps writes few and memory flat. */
const WRITE_CHUNK = 256 * 1024;

/**
 * Writes a layer's index file as its entries are recorded, so extracting a layer of a million
 * files holds no list of them. Entries are written in archive order once complete (a regular
 * file when its digest is known); the file is the same JSON object {@link readLayerIndex} reads,
 * with the totals after the entries. It is created fresh (O_EXCL) in the layer's tmp directory.
 */
export class IndexWriter {
  private readonly fd: number;
  private readonly waiting: LayerEntry[] = [];
  private head = 0;
  private text: string[] = [];
  private textBytes = 0;
  private written = 0;
  private closed = false;

  constructor(
    private readonly layerDir: string,
    diffID: string,
  ) {
    this.fd = openSync(join(layerDir, LAYER_INDEX_FILE), 'wx', 0o600);
    this.put(`{"version":1,"diffID":${JSON.stringify(diffID)},"entries":[`);
  }

  /** Records an entry; a regular file is written once {@link complete} has been called for it. */
  add(entry: LayerEntry): void {
    this.waiting.push(entry);
    this.drain();
  }

  /** A regular file's digest is now set. */
  complete(): void {
    this.drain();
  }

  /** Writes the totals and closes the file. */
  finish(totals: Omit<LayerIndex, 'version' | 'diffID' | 'entries'>): void {
    this.drain();
    if (this.head < this.waiting.length) throw new Error('layer index: an entry was never completed');
    const { bytes, fileBytes, files, skipped } = totals;
    this.put(`],${JSON.stringify({ bytes, fileBytes, files, skipped }).slice(1)}`);
    this.flush();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private drain(): void {
    while (this.head < this.waiting.length) {
      const e = this.waiting[this.head]!;
      if (e.type === 'file' && e.digest === undefined) break;
      this.put(`${this.written++ === 0 ? '' : ','}${JSON.stringify(e)}`);
      this.head++;
    }
    // Drop what was written; most of the time nothing waits.
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    }
  }

  private put(s: string): void {
    this.text.push(s);
    this.textBytes += s.length;
    if (this.textBytes >= WRITE_CHUNK) this.flush();
  }

  private flush(): void {
    const buf = Buffer.from(this.text.join(''));
    this.text = [];
    this.textBytes = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }
}

/** Removes every entry's extended attributes from a saved index (they could not be applied). */
export async function dropIndexXattrs(layerDir: string): Promise<void> {
  const file = join(layerDir, LAYER_INDEX_FILE);
  const index = JSON.parse(await readFile(file, 'utf8')) as LayerIndex;
  for (const e of index.entries) delete e.xattrs;
  await writeFile(file, JSON.stringify(index), { mode: 0o600 });
}
