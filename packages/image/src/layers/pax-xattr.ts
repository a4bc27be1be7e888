import { LayerXattrError } from '../errors/xattr-errors.js';

/** PAX record key prefix of an extended attribute (GNU tar, Go, Docker): the value is the raw bytes. */
const SCHILY_PREFIX = 'SCHILY.xattr.';
/** libarchive's own form: the name is %-encoded and the value is base64. */
const LIBARCHIVE_PREFIX = 'LIBARCHIVE.xattr.';
const EQUALS = 0x3d;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * Splits a PAX extended header body into its records, by their length prefixes (never by lines:
 * binary values such as `security.capability` hold newlines and bytes that are not UTF-8).
 * Later records win over earlier ones with the same key. A body whose framing is broken is
 * refused: its records cannot be told apart, and Go's reader (umoci's) refuses it too.
 */
export function parsePaxRecords(body: Buffer, entryHint = 'a PAX header'): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  // node-tar ignores what follows a NUL at the end of the body; a NUL pad is not a record.
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(SPACE, at);
    const digits = space < 0 ? '' : body.toString('latin1', at, space);
    const length = /^[0-9]{1,9}$/.test(digits) ? Number(digits) : NaN;
    const end = at + length;
    if (!Number.isSafeInteger(end) || end <= space + 1 || end > body.length || body[end - 1] !== NEWLINE) {
      throw new LayerXattrError('LAYER_XATTR_INVALID', `${entryHint} has a malformed PAX record at byte ${at}`);
    }
    const eq = body.indexOf(EQUALS, space + 1);
    if (eq < 0 || eq >= end) throw new LayerXattrError('LAYER_XATTR_INVALID', `${entryHint} has a PAX record without '=' at byte ${at}`);
    out.set(body.toString('utf8', space + 1, eq), body.subarray(eq + 1, end - 1));
    at = end;
  }
  return out;
}

/**
 * The extended attributes a set of PAX records carries: `SCHILY.xattr.<name>` (raw value) and,
 * for names no SCHILY record gives, `LIBARCHIVE.xattr.<%-encoded name>` (base64 value).
 * Names are returned as their raw bytes decoded as latin1, so no byte is lost or merged.
 */
export function xattrsFromPax(records: Map<string, Buffer>, entryPath: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const fromLibarchive = new Map<string, Buffer>();
  for (const [key, value] of records) {
    if (key.startsWith(SCHILY_PREFIX)) {
      out.set(Buffer.from(key.slice(SCHILY_PREFIX.length), 'utf8').toString('latin1'), value);
    } else if (key.startsWith(LIBARCHIVE_PREFIX)) {
      const name = percentDecode(key.slice(LIBARCHIVE_PREFIX.length), entryPath);
      fromLibarchive.set(name, base64Decode(value, name, entryPath));
    }
  }
  for (const [name, value] of fromLibarchive) if (!out.has(name)) out.set(name, value);
  return out;
}

function percentDecode(encoded: string, entryPath: string): string {
  const bytes = Buffer.from(encoded, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) {
      out.push(bytes[i]!);
      continue;
    }
    const hex = bytes.toString('latin1', i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
      throw new LayerXattrError('LAYER_XATTR_INVALID', `entry ${JSON.stringify(entryPath)} has a LIBARCHIVE.xattr name with a bad %-escape`);
    }
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out).toString('latin1');
}

function base64Decode(value: Buffer, name: string, entryPath: string): Buffer {
  const text = value.toString('latin1');
  // libarchive writes base64 without padding; anything outside the alphabet is corrupt.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new LayerXattrError(
      'LAYER_XATTR_INVALID',
      `entry ${JSON.stringify(entryPath)} has a LIBARCHIVE.xattr value for ${JSON.stringify(name)} that is not base64`,
    );
  }
  return Buffer.from(text, 'base64');
}
