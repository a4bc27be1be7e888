import { Header } from 'tar';

/** One member of a tar stream, with the image's own metadata (never the host's). */
export interface TarMember {
  path: string;
  type: 'Directory' | 'File' | 'SymbolicLink' | 'Link';
  mode: number;
  uid: number;
  gid: number;
  /** ms since the epoch */
  mtime: number;
  /** Files: content length. */
  size?: number;
  /** Symlinks: the target; hardlinks: the path of the member linked to. */
  linkpath?: string;
  /** Extended attributes, name → base64 value. */
  xattrs?: Record<string, string>;
}

export const BLOCK = 512;

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** One PAX record, `"<len> <key>=<value>\n"`, where len counts the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function paxBody(m: TarMember): Buffer {
  const records = [
    paxRecord('path', Buffer.from(m.path)),
    paxRecord('uid', Buffer.from(String(m.uid))),
    paxRecord('gid', Buffer.from(String(m.gid))),
    paxRecord('mtime', Buffer.from((m.mtime / 1000).toFixed(3).replace(/\.?0+$/, ''))),
  ];
  if (m.size !== undefined) records.push(paxRecord('size', Buffer.from(String(m.size))));
  if (m.linkpath !== undefined) records.push(paxRecord('linkpath', Buffer.from(m.linkpath)));
  for (const [name, value] of Object.entries(m.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${name}`, Buffer.from(value, 'base64')));
  return Buffer.concat(records);
}

/**
 * The header block(s) of a member: a ustar header, preceded by a PAX extended header when a field
 * does not fit ustar (long paths, large ids or sizes) or the member has extended attributes.
 */
export function memberHeader(m: TarMember): Buffer {
  const header = new Header({
    path: m.path,
    type: m.type,
    mode: m.mode & 0o7777,
    uid: m.uid,
    gid: m.gid,
    size: m.type === 'File' ? (m.size ?? 0) : 0,
    mtime: new Date(Math.floor(m.mtime / 1000) * 1000),
    ...(m.linkpath !== undefined ? { linkpath: m.linkpath } : {}),
  });
  header.encode();
  const block = header.block!;
  if (!header.needPax && !m.xattrs) return block;
  const body = paxBody(m);
  const pax = new Header({ path: `PaxHeader/${m.path.slice(-80)}`, type: 'ExtendedHeader', mode: 0o644, size: body.length, mtime: new Date(0) });
  pax.encode();
  return Buffer.concat([pax.block!, body, padding(body.length), block]);
}

/** The end of a tar stream: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
