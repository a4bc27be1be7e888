// The PAX side-reader (src/layers/pax-tracker.ts) frames the archive the way node-tar does and
// matches node-tar's entries by header checksum and size. This test pins what it relies on in
// node-tar (pinned exactly in package.json): its names for meta entry types, its Header and Pax
// classes, its size rules (PAX size wins, a directory has no body, meta entries over 1 MiB are
// ignored) and the order of its entries. A new tar release that changes any of it fails here.
import t from 'tap';
import { Parser, types, type ReadEntry } from 'tar';
import { paxRecord, writeTar, type TarEntry } from '@broodbox/testkit';
import { PaxTracker } from '../../src/layers/pax-tracker.js';

const LONG = `${'d'.repeat(120)}/long-by-gnu`;
const PAX_LONG = `${'p'.repeat(150)}/long-by-pax`;

const entries: TarEntry[] = [
  { path: 'etc', type: 'dir' },
  { path: 'etc/plain', type: 'file', content: 'plain' },
  { path: 'etc/caps', type: 'file', content: 'x'.repeat(700), xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0xff]), 'user.a': 'b' } },
  // A global header: node-tar applies its size records, the tracker must skip it the same way.
  { path: 'pax_global_header', type: 'file', typeflag: 'g', content: paxRecord('comment', 'global') },
  // GNU long name: an 'L' meta entry whose body is the next entry's path.
  { path: '././@LongLink', type: 'file', typeflag: 'L', content: `${LONG}\0` },
  { path: 'short-name', type: 'file', content: 'gnu' },
  { path: PAX_LONG, type: 'file', content: 'pax path' },
  // A PAX size record overrides the header's size field: both readers must skip 1000 bytes.
  { path: 'sized', type: 'file', content: 'y'.repeat(1000), sizeOverride: 3, pax: { size: '1000' } },
  // A meta entry over 1 MiB is ignored by node-tar, and skipped whole by the tracker.
  { path: 'huge-pax', type: 'file', typeflag: 'x', content: Buffer.alloc(1024 * 1024 + 1, 0x20) },
  { path: 'after-huge', type: 'file', content: 'after' },
  { path: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
];

interface Seen {
  path: string;
  type: string;
  size: number;
  records: string[];
}

/** Runs the archive through node-tar's Parser with the tracker fed first, as extract.ts does. */
async function readBoth(tar: Buffer, chunk: number): Promise<{ seen: Seen[]; ignored: string[] }> {
  const tracker = new PaxTracker();
  const parser = new Parser({ strict: false, zstd: false, brotli: false });
  const seen: Seen[] = [];
  const ignored: string[] = [];
  parser.on('entry', (e: ReadEntry) => {
    const tracked = tracker.take(e.header.cksum, e.size);
    seen.push({ path: e.path, type: e.type, size: e.size, records: [...(tracked.records?.keys() ?? [])].sort() });
    e.resume();
  });
  parser.on('ignoredEntry', (e: ReadEntry) => ignored.push(e.type));
  const done = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  for (let at = 0; at < tar.length; at += chunk) {
    const part = tar.subarray(at, at + chunk);
    tracker.write(part);
    parser.write(part);
  }
  parser.end();
  await done;
  return { seen, ignored };
}

t.test("node-tar's names for the meta entry types", async (t) => {
  t.same(
    Object.fromEntries(['x', 'X', 'g', 'L', 'N', 'K'].map((c) => [c, types.name.get(c as never)])),
    { x: 'ExtendedHeader', X: 'OldExtendedHeader', g: 'GlobalExtendedHeader', L: 'NextFileHasLongPath', N: 'OldGnuLongPath', K: 'NextFileHasLongLinkpath' },
  );
});

for (const chunk of [512, 100, 64 * 1024]) {
  t.test(`node-tar and the side-reader frame a mixed archive alike (chunks of ${chunk} bytes)`, async (t) => {
    const { seen, ignored } = await readBoth(writeTar(entries), chunk);
    t.same(
      seen.map((s) => [s.path, s.type, s.size]),
      [
        ['etc', 'Directory', 0],
        ['etc/plain', 'File', 5],
        ['etc/caps', 'File', 700],
        [LONG, 'File', 3],
        [PAX_LONG, 'File', 8],
        ['sized', 'File', 1000],
        ['after-huge', 'File', 5],
        ['bin/sh', 'SymbolicLink', 0],
      ],
      'the entries, their paths after long-name records, and their sizes after PAX records',
    );
    t.same(seen.find((s) => s.path === 'etc/caps')?.records, ['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.a'], 'raw xattr records kept for their entry');
    t.same(seen.find((s) => s.path === 'sized')?.records, ['size'], 'records belong to the entry right after them');
    t.same(seen.find((s) => s.path === 'etc/plain')?.records, [], 'and to no other');
    t.same(ignored, ['ExtendedHeader'], 'the meta entry over 1 MiB is ignored by node-tar');
  });
}
