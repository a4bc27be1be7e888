/** Kinds of tar entry the writer can emit. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * One entry of a tar archive. Nothing is sanitised: paths such as `../x`, `/etc/passwd`,
 * duplicate names, links pointing anywhere and device nodes are written exactly as given,
 * so tests can feed hostile layers to an extractor.
 */
export interface TarEntry {
  /** Path written verbatim (no `./` prefix or trailing `/` is added). */
  path: string;
  type: TarEntryType;
  /** Permission bits (and setuid/setgid/sticky); defaults: dir 0755, symlink 0777, others 0644. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Modification time in seconds since the epoch (default 0, for reproducible digests). */
  mtime?: number;
  /** File body; a string is written as UTF-8. Any type may carry one (hostile archives do). */
  content?: Buffer | string;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records; a Buffer value is written byte for byte. */
  xattrs?: Record<string, string | Buffer>;
  /** Extra PAX records, written verbatim (they win over records the writer derives); a Buffer value is written byte for byte. */
  pax?: Record<string, string | Buffer>;
  /** PAX extended header bodies written exactly as given (each its own `x` header) before the entry, after any derived one. */
  rawPax?: Buffer[];
  /** Size written in the header instead of the content's length (for truncation/absurd-size tests). */
  sizeOverride?: number;
  /** Raw typeflag character written instead of the one `type` implies (for unknown-type tests). */
  typeflag?: string;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};
const DEFAULT_MODE: Record<TarEntryType, number> = {
  file: 0o644,
  hardlink: 0o644,
  symlink: 0o777,
  char: 0o644,
  block: 0o644,
  dir: 0o755,
  fifo: 0o644,
};

/** Largest value an octal header field of `width` bytes holds (one byte is the terminator). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function fitsOctal(value: number, width: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= octalMax(width);
}

function isPlainAscii(s: string, maxBytes: number): boolean {
  if (Buffer.byteLength(s) > maxBytes) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

function writeString(buf: Buffer, offset: number, width: number, value: string): void {
  Buffer.from(value, 'utf8').copy(buf, offset, 0, width);
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const v = fitsOctal(value, width) ? value : 0;
  buf.write(v.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** One PAX record: `"<len> <key>=<value>\n"` where len counts the whole record, itself included. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function paxRecordsFor(e: TarEntry, size: number): Record<string, string | Buffer> {
  const recs: Record<string, string | Buffer> = {};
  if (!isPlainAscii(e.path, 100)) recs.path = e.path;
  if (e.linkname !== undefined && !isPlainAscii(e.linkname, 100)) recs.linkpath = e.linkname;
  if (e.uname !== undefined && !isPlainAscii(e.uname, 32)) recs.uname = e.uname;
  if (e.gname !== undefined && !isPlainAscii(e.gname, 32)) recs.gname = e.gname;
  if (e.uid !== undefined && !fitsOctal(e.uid, 8)) recs.uid = String(e.uid);
  if (e.gid !== undefined && !fitsOctal(e.gid, 8)) recs.gid = String(e.gid);
  if (!fitsOctal(size, 12)) recs.size = String(size);
  if (e.mtime !== undefined && !fitsOctal(e.mtime, 12)) recs.mtime = String(e.mtime);
  for (const [name, value] of Object.entries(e.xattrs ?? {})) recs[`SCHILY.xattr.${name}`] = value;
  return { ...recs, ...(e.pax ?? {}) };
}

interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function header(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, f.name);
  writeOctal(h, 100, 8, f.mode);
  writeOctal(h, 108, 8, f.uid);
  writeOctal(h, 116, 8, f.gid);
  writeOctal(h, 124, 12, f.size);
  writeOctal(h, 136, 12, Math.floor(f.mtime));
  h.write(f.typeflag.slice(0, 1), 156, 1, 'latin1');
  writeString(h, 157, 100, f.linkname);
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeString(h, 265, 32, f.uname);
  writeString(h, 297, 32, f.gname);
  writeOctal(h, 329, 8, f.devmajor);
  writeOctal(h, 337, 8, f.devminor);
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function padding(len: number): Buffer {
  const rest = len % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

function paxHeaderBlocks(e: TarEntry, records: Record<string, string | Buffer>): Buffer[] {
  return paxBodyBlocks(e, Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, v))));
}

function paxBodyBlocks(e: TarEntry, body: Buffer): Buffer[] {
  const base = e.path.replace(/\/+$/, '').split('/').pop() ?? '';
  const h = header({
    name: `PaxHeaders/${base}`.slice(0, 99).replace(/[^ -~]/g, '_'),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return [h, body, padding(body.length)];
}

function entryBlocks(e: TarEntry): Buffer[] {
  const content = typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : (e.content ?? Buffer.alloc(0));
  const size = e.sizeOverride ?? content.length;
  const records = paxRecordsFor(e, size);
  const out: Buffer[] = Object.keys(records).length > 0 ? paxHeaderBlocks(e, records) : [];
  for (const body of e.rawPax ?? []) out.push(...paxBodyBlocks(e, body));
  out.push(
    header({
      name: e.path,
      mode: e.mode ?? DEFAULT_MODE[e.type],
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size,
      mtime: e.mtime ?? 0,
      typeflag: e.typeflag ?? TYPEFLAG[e.type],
      linkname: e.linkname ?? '',
      uname: e.uname ?? '',
      gname: e.gname ?? '',
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
    }),
  );
  out.push(content, padding(content.length));
  return out;
}

/** Options for {@link writeTar}. */
export interface WriteTarOptions {
  /** Leave out the two zero blocks that end an archive (for truncated-archive tests). */
  omitEndBlocks?: boolean;
}

/**
 * Builds a tar archive (ustar headers, PAX extended headers where a field does not fit or
 * is not ASCII, or xattrs are given) from `entries`, in order, ending with two zero blocks.
 */
export function writeTar(entries: TarEntry[], opts: WriteTarOptions = {}): Buffer {
  const parts = entries.flatMap(entryBlocks);
  if (!opts.omitEndBlocks) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
