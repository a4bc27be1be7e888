import { finished, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { LayerDecompressError } from '../errors/layer-errors.js';

/** Compression of a layer blob, from its media type. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** Larger zlib output chunks than the 16 KiB default: fewer tar parser calls per MiB. */
const GUNZIP_CHUNK = 128 * 1024;

type NativeZstd = (opts?: object) => NodeJS.ReadWriteStream;

/**
 * Yields the uncompressed bytes of a layer blob as they arrive. gzip runs in zlib's thread
 * pool; zstd uses node:zlib where the runtime has it and the streaming fzstd decoder otherwise.
 * Corrupt or truncated input ends with a {@link LayerDecompressError}.
 */
export async function* decompressLayer(
  input: Readable,
  compression: LayerCompression,
  onInput: (bytes: number) => void = () => undefined,
): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      onInput(chunk.length);
      yield chunk;
    }
    return;
  }
  const native = (zlib as unknown as { createZstdDecompress?: NativeZstd }).createZstdDecompress;
  if (compression === 'gzip' || native) {
    const stream =
      compression === 'gzip' ? zlib.createGunzip({ chunkSize: GUNZIP_CHUNK }) : (native as NativeZstd)();
    input.on('data', (chunk: Buffer) => onInput(chunk.length));
    // An input that errors, or closes before its end (even before this call), ends the output
    // with that error instead of leaving it waiting for bytes forever.
    finished(input, (err) => {
      if (err) (stream as unknown as Readable).destroy(err);
    });
    input.pipe(stream as unknown as NodeJS.WritableStream);
    try {
      for await (const chunk of stream as unknown as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      throw input.errored ? err : new LayerDecompressError(compression, err);
    } finally {
      input.unpipe();
      (stream as unknown as Readable).destroy();
    }
    return;
  }
  yield* zstdChunks(input, onInput);
}

async function* zstdChunks(input: Readable, onInput: (bytes: number) => void): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  let ended = false;
  const decoder = new ZstdStream((data, final) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (final) ended = true;
  });
  const push = (chunk: Uint8Array, final: boolean): Buffer[] => {
    try {
      decoder.push(chunk, final);
    } catch (err) {
      throw new LayerDecompressError('zstd', err);
    }
    const ready = out;
    out = [];
    return ready;
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    onInput(chunk.length);
    yield* push(chunk, false);
  }
  yield* push(new Uint8Array(0), true);
  if (!ended) throw new LayerDecompressError('zstd', new Error('stream ended before the last frame'));
}
