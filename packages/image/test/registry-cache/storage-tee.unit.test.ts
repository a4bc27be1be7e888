import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { storageHolds, storedBlobPaths, teeTempDir } from '../../src/registry-cache/storage-paths.js';
import { teeIntoStorage } from '../../src/registry-cache/storage-tee.js';
import { PROXY_TTL_MS, scheduleStoredBlobs, schedulerStateFile } from '../../src/registry-cache/scheduler-entries.js';
import { readHitCounts } from '../../src/registry-cache/hit-counts.js';
import { recordStored } from '../../src/registry-cache/stored-log.js';
import { fillOptions } from '../../src/registry-cache/cached-fetcher.js';

const bytes = Buffer.from('layer bytes '.repeat(10_000));
const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function storage(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tee-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A source in chunks that, like a verified blob stream, can fail after some of its bytes. */
function source(failAfter?: number): Readable {
  const chunks = [bytes.subarray(0, 40_000), bytes.subarray(40_000, 80_000), bytes.subarray(80_000)];
  let i = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && i === failAfter) return this.destroy(new Error('digest mismatch'));
      this.push(i < chunks.length ? chunks[i++] : null);
    },
  });
}

async function drain(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

t.test('paths: distribution 2.8 layout; anything but a sha256 digest and a valid repository name is refused', async (t) => {
  const p = storedBlobPaths('/d', 'library/app', digest)!;
  const hex = digest.slice(7);
  t.equal(p.data, `/d/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`);
  t.equal(p.link, `/d/docker/registry/v2/repositories/library/app/_layers/sha256/${hex}/link`);
  t.equal(p.linkContent, digest, 'the link holds the digest, no newline');
  t.equal(storedBlobPaths('/d', '../etc', digest), undefined);
  t.equal(storedBlobPaths('/d', 'library/../../x', digest), undefined);
  t.equal(storedBlobPaths('/d', 'Library/app', digest), undefined);
  t.equal(storedBlobPaths('/d', 'library/app', `sha512:${'a'.repeat(128)}`), undefined);
  t.equal(storedBlobPaths('/d', 'library/app', 'sha256:../../x'), undefined);
});

t.test('a verified stream is passed through and stored: data, then link, temp files gone, 0600/0700', async (t) => {
  const dir = storage(t);
  const paths = storedBlobPaths(dir, 'library/app', digest)!;
  t.notOk(await storageHolds(paths, bytes.length));
  let storedCalls = 0;
  const out = await drain(teeIntoStorage(source(), { dataDir: dir, paths, onStored: () => void storedCalls++ }));
  t.same(out, bytes, 'the consumer gets every byte');
  t.equal(storedCalls, 1);
  t.same(readFileSync(paths.data), bytes);
  t.equal(readFileSync(paths.link, 'utf8'), digest);
  t.ok(await storageHolds(paths, bytes.length), 'the cache would serve it from storage');
  t.notOk(await storageHolds(paths, bytes.length + 1), 'not when the size differs');
  t.same(readdirSync(teeTempDir(dir)), []);
  t.equal(statSync(paths.data).mode & 0o777, 0o600);
  t.equal(statSync(paths.link).mode & 0o777, 0o600);
  t.equal(statSync(join(paths.data, '..')).mode & 0o777, 0o700);
});

t.test('a source that fails stores nothing and leaves no temp file; the consumer gets the error', async (t) => {
  const dir = storage(t);
  const paths = storedBlobPaths(dir, 'library/app', digest)!;
  let skipped: unknown;
  await t.rejects(drain(teeIntoStorage(source(2), { dataDir: dir, paths, onSkipped: (e) => (skipped = e) })), /digest mismatch/);
  t.ok(skipped, 'told why');
  t.notOk(existsSync(paths.data));
  t.notOk(existsSync(paths.link));
  t.same(readdirSync(teeTempDir(dir)), []);
  t.notOk(existsSync(join(dir, 'docker')), 'nothing in the registry tree');
});

t.test('a consumer that stops early stores nothing', async (t) => {
  const dir = storage(t);
  const paths = storedBlobPaths(dir, 'library/app', digest)!;
  const tee = teeIntoStorage(source(), { dataDir: dir, paths });
  for await (const _ of tee) break;
  // 'close' comes once the stream is torn down, which removes the temp file first.
  await new Promise((r) => (tee.closed ? r(undefined) : tee.once('close', r)));
  t.same(readdirSync(teeTempDir(dir)), []);
  t.notOk(existsSync(paths.link));
});

t.test('storage that cannot be written never fails the stream', async (t) => {
  const dir = storage(t);
  const paths = storedBlobPaths(dir, 'library/app', digest)!;
  // The blob's directory cannot be made: its parent is a file.
  await mkdir(join(dir, 'docker', 'registry', 'v2', 'blobs'), { recursive: true });
  await writeFile(join(dir, 'docker', 'registry', 'v2', 'blobs', 'sha256'), 'x');
  let skipped: unknown;
  t.same(await drain(teeIntoStorage(source(), { dataDir: dir, paths, onSkipped: (e) => (skipped = e) })), bytes, 'every byte, no error');
  t.match(skipped, { code: /ENOTDIR|EEXIST/ });
  t.same(readdirSync(teeTempDir(dir)), [], 'the temp file is removed');
  t.notOk(existsSync(paths.link));

  // No temp directory at all (it is a file).
  const dir2 = storage(t);
  await writeFile(teeTempDir(dir2), 'x');
  const paths2 = storedBlobPaths(dir2, 'library/app', digest)!;
  t.same(await drain(teeIntoStorage(source(), { dataDir: dir2, paths: paths2 })), bytes);
  t.notOk(existsSync(paths2.data));
});

t.test('scheduler entries: added for stored blobs a week after storing, existing and past ones left, a bad state file untouched', async (t) => {
  const dir = storage(t);
  const now = Date.parse('2026-01-10T00:00:00Z');
  const at = '2026-01-09T00:00:00.000Z';
  const blobs = [
    { at, repository: 'library/app', digest, size: 1 },
    { at: '2025-12-01T00:00:00.000Z', repository: 'library/old', digest, size: 1 },
    { at, repository: 'library/kept', digest, size: 1 },
  ];
  await writeFile(schedulerStateFile(dir), JSON.stringify({ [`library/kept@${digest}`]: { Key: `library/kept@${digest}`, ExpiryData: '2030-01-01T00:00:00Z', EntryType: 0 } }));
  t.equal(await scheduleStoredBlobs(dir, blobs, now), 1);
  const state = JSON.parse(readFileSync(schedulerStateFile(dir), 'utf8')) as Record<string, { ExpiryData: string; EntryType: number }>;
  t.same(state[`library/app@${digest}`], { Key: `library/app@${digest}`, ExpiryData: new Date(Date.parse(at) + PROXY_TTL_MS).toISOString(), EntryType: 0 });
  t.equal(state[`library/kept@${digest}`]?.ExpiryData, '2030-01-01T00:00:00Z', 'an existing entry is kept as it is');
  t.notOk(state[`library/old@${digest}`], 'a blob past its week gets no entry');
  t.equal(await scheduleStoredBlobs(dir, blobs, now), 0, 'idempotent');
  t.equal(statSync(schedulerStateFile(dir)).mode & 0o777, 0o600);

  await writeFile(schedulerStateFile(dir), '{not json');
  t.equal(await scheduleStoredBlobs(dir, blobs, now), 0);
  t.equal(readFileSync(schedulerStateFile(dir), 'utf8'), '{not json', 'left alone');
});

t.test('hit counts: blobs bbox stored count as misses', async (t) => {
  const dir = storage(t);
  const log = join(dir, 'stored.log');
  await recordStored(log, { at: new Date().toISOString(), repository: 'library/app', digest, size: 3 });
  await recordStored(log, { at: new Date().toISOString(), repository: 'library/app', digest, size: 3 });
  await writeFile(log, readFileSync(log, 'utf8') + '{"torn', { flag: 'w' });
  t.same(await readHitCounts(join(dir, 'registry.log'), log), { hits: 0, misses: 2, bytesFromCache: 0 });
});

t.test('fill options: anonymous, and from the cache upstream when it is not the registry itself', async (t) => {
  t.match(fillOptions({}, 'docker.io', 'https://registry-1.docker.io'), { anonymous: true });
  t.notOk(fillOptions({}, 'docker.io', 'https://registry-1.docker.io').registries, 'the registry itself: the usual endpoints');
  t.notOk(fillOptions({}, '127.0.0.1:5000', 'http://127.0.0.1:5000').registries);
  const other = fillOptions({ registries: { 'docker.io': { mirrors: ['https://m.example'] } } }, 'docker.io', 'https://mirror.gcr.io');
  t.same(other.registries?.['docker.io']?.mirrors, [{ url: 'https://mirror.gcr.io' }, 'https://m.example'], 'the upstream first, then the configured mirrors');
});
