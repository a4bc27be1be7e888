import t from 'tap';
import { Parser, type ReadEntry } from 'tar';
import { END_OF_ARCHIVE, memberHeader, padding, type TarMember } from '../../src/export/tar-records.js';

/** Reads members back with node-tar, as an independent reader. */
async function readBack(members: Array<{ m: TarMember; body?: Buffer }>): Promise<ReadEntry[]> {
  const parts: Buffer[] = [];
  for (const { m, body } of members) {
    parts.push(memberHeader(m));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  const seen: ReadEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({ onReadEntry: (e) => { seen.push(e); e.resume(); } });
    p.on('end', resolve);
    p.on('error', reject);
    p.end(Buffer.concat(parts));
  });
  return seen;
}

t.test('ustar members keep the given owners, modes and times', async (t) => {
  const [dir, file, link, hard] = await readBack([
    { m: { path: 'srv/', type: 'Directory', mode: 0o750, uid: 33, gid: 33, mtime: 1_600_000_000_000 } },
    { m: { path: 'srv/su', type: 'File', mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_001_000, size: 3 }, body: Buffer.from('abc') },
    { m: { path: 'srv/l', type: 'SymbolicLink', mode: 0o777, uid: 7, gid: 8, mtime: 0, linkpath: '/etc/passwd' } },
    { m: { path: 'srv/h', type: 'Link', mode: 0o4755, uid: 0, gid: 0, mtime: 0, linkpath: 'srv/su' } },
  ]);
  t.same([dir!.path, dir!.type, dir!.mode, dir!.uid, dir!.gid], ['srv/', 'Directory', 0o750, 33, 33]);
  t.same([file!.path, file!.mode, file!.size, file!.mtime?.getTime()], ['srv/su', 0o4755, 3, 1_600_000_001_000]);
  t.same([link!.type, link!.linkpath, link!.uid], ['SymbolicLink', '/etc/passwd', 7]);
  t.same([hard!.type, hard!.linkpath], ['Link', 'srv/su']);
});

t.test('long paths, large ids and xattrs go in a pax header', async (t) => {
  const long = `${'a'.repeat(120)}/${'b'.repeat(120)}`;
  // Record lengths that cross a digit boundary (99 → 100 bytes) must count themselves right.
  for (const n of [90, 91, 92, 93, 94, 95, 96, 97]) {
    const path = 'p'.repeat(n);
    const [e] = await readBack([{ m: { path, type: 'File', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, xattrs: { 'user.k': Buffer.from('v').toString('base64') } } }]);
    t.equal(e!.path, path, `a ${n}-byte path`);
  }
  const [e] = await readBack([
    { m: { path: long, type: 'File', mode: 0o600, uid: 3_000_000, gid: 3_000_001, mtime: 5_000, size: 1, xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]).toString('base64') } }, body: Buffer.from('x') },
  ]);
  t.equal(e!.path, long);
  t.same([e!.uid, e!.gid], [3_000_000, 3_000_001]);
  t.equal(e!.size, 1);
});

t.test('an xattr is a SCHILY.xattr record holding the raw bytes, its length counting itself', async (t) => {
  const value = Buffer.from([1, 0, 0, 2, 0xff]);
  const header = memberHeader({ path: 'bin/ping', type: 'File', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, xattrs: { 'security.capability': value.toString('base64') } });
  t.equal(String.fromCharCode(header[156]!), 'x', 'a pax extended header comes first');
  const record = Buffer.concat([Buffer.from(' SCHILY.xattr.security.capability='), value, Buffer.from('\n')]);
  const at = header.indexOf(record);
  t.ok(at > 0, 'the record is there with the raw value');
  let start = at;
  while (start > 512 && header[start - 1] !== 0x0a && header[start - 1] !== 0) start--;
  const len = Number(header.subarray(start, at).toString());
  t.equal(len, at - start + record.length, 'the length prefix counts the whole record');
});
