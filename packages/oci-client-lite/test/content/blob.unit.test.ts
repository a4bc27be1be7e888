import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { verifiedBlobStream, type HttpResponse, type Descriptor } from '../../src/index.js';
import { digestStream } from '../fixtures.js';

const data = randomBytes(100_000);
const desc: Descriptor = { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length };

/** A response whose body yields `bytes` in 10 kB chunks, then fails with a reset when `cutAt` is given. */
function response(status: number, bytes: Buffer, opts: { cutAt?: number; headers?: Record<string, string> } = {}): HttpResponse {
  async function* gen() {
    const end = opts.cutAt ?? bytes.length;
    for (let i = 0; i < end; i += 10_000) yield bytes.subarray(i, Math.min(i + 10_000, end));
    if (opts.cutAt !== undefined) throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
  }
  const body = Readable.from(gen(), { objectMode: false }) as unknown as IncomingMessage;
  return { status, headers: opts.headers ?? {}, body, url: new URL('http://127.0.0.1/') };
}

t.test('resumes with Range after a reset', async (t) => {
  const asked: number[] = [];
  const s = verifiedBlobStream(desc, async (offset) => {
    asked.push(offset);
    if (offset === 0) return response(200, data, { cutAt: 30_000 });
    return response(206, data.subarray(offset), { headers: { 'content-range': `bytes ${offset}-${data.length - 1}/${data.length}` } });
  });
  t.same(await digestStream(s), { digest: desc.digest, size: desc.size });
  t.same(asked, [0, 30_000]);
});

t.test('a server that ignores Range: the delivered bytes are skipped and the hash stays right', async (t) => {
  const asked: number[] = [];
  const s = verifiedBlobStream(desc, async (offset) => {
    asked.push(offset);
    return response(200, data, offset === 0 ? { cutAt: 45_000 } : {});
  });
  const out = await digestStream(s);
  t.same(out, { digest: desc.digest, size: desc.size });
  t.same(asked, [0, 45_000]);
});

t.test('a 206 starting at the wrong offset is not trusted: the blob restarts from zero', async (t) => {
  const asked: number[] = [];
  const s = verifiedBlobStream(desc, async (offset) => {
    asked.push(offset);
    if (asked.length === 1) return response(200, data, { cutAt: 20_000 });
    if (asked.length === 2) return response(206, data.subarray(10_000), { headers: { 'content-range': `bytes 10000-99999/100000` } });
    return response(200, data);
  });
  t.same(await digestStream(s), { digest: desc.digest, size: desc.size });
  t.same(asked, [0, 20_000, 0]);
});

t.test('bad content errors the stream and holds back the last chunk', async (t) => {
  const bad = Buffer.from(data);
  bad[99_999] = (bad[99_999] ?? 0) ^ 1;
  const s = verifiedBlobStream(desc, async () => response(200, bad));
  let received = 0;
  s.on('data', (c: Buffer) => (received += c.length));
  const err = await new Promise((resolve) => s.on('error', resolve).on('end', () => resolve(undefined)));
  t.match(err, { code: 'DIGEST_MISMATCH', expected: desc.digest });
  t.ok(received < data.length, `the consumer never got every byte (${received})`);

  const longer = verifiedBlobStream(desc, async () => response(200, Buffer.concat([data, Buffer.from('x')])));
  await t.rejects(digestStream(longer), { code: 'SIZE_MISMATCH' });
  const declared = verifiedBlobStream(desc, async () => response(200, data, { headers: { 'content-length': '5' } }));
  await t.rejects(digestStream(declared), { code: 'SIZE_MISMATCH', message: /5 bytes/ }, 'Content-Length checked before reading');
});

t.test('gives up after repeated cuts without progress', async (t) => {
  let calls = 0;
  const s = verifiedBlobStream(
    desc,
    async (offset) => {
      calls++;
      return offset === 0 ? response(200, data, { cutAt: 10_000 }) : response(206, data.subarray(offset), { cutAt: 0, headers: { 'content-range': `bytes ${offset}-99999/100000` } });
    },
    { maxResumes: 2 },
  );
  await t.rejects(digestStream(s), { code: 'BLOB_INCOMPLETE', message: /cut 3 times/ });
  t.equal(calls, 3, 'first attempt plus two resumes that made no progress');
});

t.test('a consumer that destroys the stream with an error ends the download: no resume request', async (t) => {
  const asked: number[] = [];
  const s = verifiedBlobStream(desc, async (offset) => {
    asked.push(offset);
    return response(200, data);
  });
  s.once('data', () => s.destroy(new Error('consumer gave up')));
  const [err] = (await once(s, 'error')) as [Error];
  if (!s.closed) await once(s, 'close');
  t.equal(err.message, 'consumer gave up', 'the stream keeps the consumer’s error');
  t.same(asked, [0], 'only the first request was made');
});
