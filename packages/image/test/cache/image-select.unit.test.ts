import t from 'tap';
import { displayRef, isDigestLike, matchDigest, normaliseRef, type CacheNames } from '../../src/cache/image-select.js';
import { DigestAmbiguousError, ImageNotFoundError } from '../../src/errors/selection-errors.js';
import { InvalidDigestError } from '../../src/errors/cache-errors.js';

const d = (hex: string) => `sha256:${hex.padEnd(64, '0')}`;
const entryA = d('aaaaaaaaaaaa1');
const entryB = d('aaaaaaaaaaaa2');
const index = d('bbbbbbbbbbbb');
const aliasIndex = d('cccccccccccc');

const names: CacheNames = {
  entries: [entryA, entryB],
  refs: [{ file: 'r1', record: { ref: 'r/app:1', platform: 'linux/amd64', digest: entryA, topDigest: index, resolvedAt: 0 } }],
  aliases: [{ file: 'a1', record: { indexDigest: aliasIndex, platform: 'linux/amd64', digest: entryB } }],
};

t.test('a digest prefix of 12+ hex digits names one digest the cache knows', async (t) => {
  t.equal(matchDigest(names, entryA), entryA, 'a full digest');
  t.equal(matchDigest(names, 'aaaaaaaaaaaa1'), entryA, 'a prefix without sha256:');
  t.equal(matchDigest(names, 'sha256:aaaaaaaaaaaa2'), entryB, 'a prefix with sha256:');
  t.equal(matchDigest(names, 'bbbbbbbbbbbb'), index, "a ref's index digest");
  t.equal(matchDigest(names, 'cccccccccccc'), aliasIndex, "an alias's index digest");
});

t.test('too short, not hex, unknown and ambiguous prefixes are refused', async (t) => {
  t.throws(() => matchDigest(names, 'aaaaaaaaaaa'), InvalidDigestError, '11 digits');
  t.throws(() => matchDigest(names, 'sha256:xyz123456789'), InvalidDigestError);
  t.throws(() => matchDigest(names, 'dddddddddddd'), ImageNotFoundError);
  const err = t.throws(() => matchDigest(names, 'aaaaaaaaaaaa')) as unknown as DigestAmbiguousError;
  t.ok(err instanceof DigestAmbiguousError);
  t.same(err.candidates, [entryA, entryB], 'every candidate, sorted');
  t.match(err.message, entryA);
  t.equal(err.code, 'DIGEST_AMBIGUOUS');
});

t.test('what reads as a digest, and how refs are written', async (t) => {
  t.ok(isDigestLike('3f2a9c1b7d0e'));
  t.ok(isDigestLike('sha256:3f2a'), 'sha256: always means a digest (too short is then an error)');
  t.notOk(isDigestLike('alpine'));
  t.notOk(isDigestLike('3f2a9c1b7d0'), 'fewer than 12 hex digits is a name');
  t.equal(normaliseRef('alpine'), 'docker.io/library/alpine:latest');
  t.equal(displayRef(normaliseRef('oci-layout:/srv/layout:v1')), 'oci-layout:/srv/layout:v1');
  t.equal(displayRef('127.0.0.1:5000/app:1'), '127.0.0.1:5000/app:1');
});
