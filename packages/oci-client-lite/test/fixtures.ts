import { randomBytes, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buildImage, buildIndex, makeLayer, type BuiltImage, type BuiltIndex, type Layer } from '@broodbox/testkit';
import type { Platform } from '../src/index.js';

/** An uncompressed layer of `size` random-ish bytes inside one file (large enough to cut mid-stream). */
export function bulkyLayer(size: number): Layer {
  return makeLayer([{ path: 'data.bin', type: 'file', content: randomBytes(size) }], { compression: 'none' });
}

/** A small image with two gzip layers. */
export function smallImage(platform: Platform = { os: 'linux', architecture: 'amd64' }, extra: Layer[] = []): BuiltImage {
  const a = makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/hello', type: 'file', content: `hello ${platform.architecture}\n` }]);
  const b = makeLayer([{ path: 'bin/', type: 'dir' }, { path: 'bin/tool', type: 'file', content: randomBytes(2048) }]);
  return buildImage({ layers: [a, b, ...extra], platform, config: { Cmd: ['/bin/tool'] } });
}

/** A multi-platform index over amd64, arm64/v8 and arm/v7 images. */
export function multiArch(docker = false): BuiltIndex {
  const images = [
    smallImage({ os: 'linux', architecture: 'amd64' }),
    smallImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }),
    smallImage({ os: 'linux', architecture: 'arm', variant: 'v7' }),
  ];
  return buildIndex(images, { docker });
}

/** Reads a stream to its end and returns its sha256 digest and length. */
export async function digestStream(s: Readable): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** Polls `cond` until it holds (fails after `ms`). */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
