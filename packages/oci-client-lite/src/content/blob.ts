import { Readable } from 'node:stream';
import type { BlobProgress, Descriptor } from '../types.js';
import { BlobIncompleteError, DigestMismatchError, OciError, SizeMismatchError, TimeoutError, type ErrorContext } from '../errors.js';
import { hasherFor } from './digest.js';
import { drain, type HttpResponse } from '../http/transport.js';

/** Opens the blob's bytes from `offset` (0: the whole blob, else with `Range: bytes=offset-`). */
export type BlobOpener = (offset: number) => Promise<HttpResponse>;

/** Options of {@link verifiedBlobStream}. */
export interface VerifiedStreamOptions {
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress) => void;
  /** How many times in a row a dropped download may resume without progress (default 3). */
  maxResumes?: number;
  ctx?: ErrorContext;
}

/** The first byte offset of a `Content-Range: bytes A-B/N` header, or undefined. */
export function contentRangeStart(header: string | undefined): number | undefined {
  const m = /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/.exec(header?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

function isInterruption(err: unknown): boolean {
  // Our own verdicts are final; anything else on the body (reset, stall, early close) can resume.
  return !(err instanceof OciError) || err instanceof TimeoutError;
}

/**
 * A stream of the blob's bytes, hashed as they pass and checked against the descriptor's size and
 * digest. A dropped connection resumes with `Range` (checking `Content-Range`; if the server sends
 * the whole blob again, the bytes already delivered are skipped and the hash still covers exactly
 * what was delivered). The final chunk is held back until the digest matches, so a consumer never
 * sees a clean end for bad data: the stream errors with {@link DigestMismatchError} or
 * {@link SizeMismatchError} instead.
 */
/**
 * A resume that moved less than this counts as no progress: a server that cuts every response
 * after a few bytes must end in an error, not in thousands of requests.
 */
const MIN_PROGRESS = 64 * 1024;

/** Cuts tolerated in one download whatever the progress, so a download always ends. */
const MAX_INTERRUPTIONS = 64;

function nextStalls(stalls: number, progressed: number): number {
  return progressed >= MIN_PROGRESS ? 1 : stalls + 1;
}

export function verifiedBlobStream(desc: Descriptor, open: BlobOpener, opts: VerifiedStreamOptions = {}): Readable {
  const ctx = opts.ctx ?? {};
  const maxResumes = opts.maxResumes ?? 3;
  async function* bytes(): AsyncGenerator<Buffer> {
    const hash = hasherFor(desc.digest);
    let offset = 0;
    let held: Buffer | undefined;
    let stalls = 0;
    let interruptions = 0;
    let res: HttpResponse | undefined;
    let handing = false;
    try {
      for (;;) {
        res = await open(offset);
        let skip = 0;
        if (offset > 0 && (res.status !== 206 || contentRangeStart(res.headers['content-range'] as string | undefined) !== offset)) {
          // The server ignored or mangled the Range: take the whole blob and skip what was delivered.
          if (res.status !== 200) {
            drain(res);
            res = await open(0);
          }
          skip = offset;
        } else if (offset === 0) {
          checkLength(res, desc, ctx);
        }
        const before = offset;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            let c = chunk;
            if (skip > 0) {
              if (c.length <= skip) {
                skip -= c.length;
                continue;
              }
              c = c.subarray(skip);
              skip = 0;
            }
            offset += c.length;
            if (offset > desc.size) throw new SizeMismatchError(`blob ${desc.digest}`, desc.size, offset, ctx);
            hash.update(c);
            if (held) {
              handing = true;
              yield held;
              handing = false;
            }
            held = c;
            opts.onProgress?.({ digest: desc.digest, done: offset, total: desc.size });
          }
        } catch (err) {
          if (opts.signal?.aborted) throw opts.signal.reason;
          // Thrown in at the yield: the consumer destroyed the stream with an error; never resume.
          if (handing || !isInterruption(err)) throw err;
          stalls = nextStalls(stalls, offset - before);
          interruptions++;
          if (stalls > maxResumes || interruptions > MAX_INTERRUPTIONS) {
            // A stall keeps its own error (the timeout says what to tune); cuts become one clear error.
            if (err instanceof TimeoutError) throw err;
            throw new BlobIncompleteError(`blob ${desc.digest}`, offset, desc.size, interruptions, { ...ctx, cause: err });
          }
          continue;
        }
        if (offset >= desc.size) break;
        // A clean end before the descriptor's size is a cut connection too.
        stalls = nextStalls(stalls, offset - before);
        interruptions++;
        if (stalls > maxResumes || interruptions > MAX_INTERRUPTIONS) throw new SizeMismatchError(`blob ${desc.digest}`, desc.size, offset, ctx);
      }
      const actual = `${desc.digest.slice(0, desc.digest.indexOf(':'))}:${hash.digest('hex')}`;
      if (actual !== desc.digest) throw new DigestMismatchError(`blob ${desc.digest}`, desc.digest, actual, ctx);
      if (held) yield held;
    } finally {
      res?.body.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

function checkLength(res: HttpResponse, desc: Descriptor, ctx: ErrorContext): void {
  const declared = res.headers['content-length'];
  if (declared === undefined || res.status !== 200) return;
  const n = Number(declared);
  if (Number.isFinite(n) && n !== desc.size) {
    res.body.destroy();
    throw new SizeMismatchError(`blob ${desc.digest}`, desc.size, n, ctx);
  }
}
