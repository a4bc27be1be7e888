import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Descriptor, ImageIndex, Platform, Reference, ResolvedImage } from 'oci-client-lite';
import { MediaType } from 'oci-client-lite/media-types';
import { selectManifest } from 'oci-client-lite/platform';
import { parseImageConfig, parseManifest } from 'oci-client-lite/manifest';
import type { Fetcher } from '../types.js';
import { LayoutError } from '../errors/pull-errors.js';
import { isSha256Digest } from '../digest.js';

/** Prefix of references that name a local OCI image layout: `oci-layout:PATH[:TAG|@DIGEST]`. */
export const LAYOUT_PREFIX = 'oci-layout:';

/** The registry name used in a layout reference's `Reference`. */
export const LAYOUT_REGISTRY = 'oci-layout';

const MAX_JSON = 4 * 1024 * 1024;

/**
 * Parses `oci-layout:PATH[:TAG|@DIGEST]` into a Reference whose repository is the absolute
 * layout path. A missing tag means `latest`, like a registry reference.
 */
export function parseLayoutReference(s: string, cwd = process.cwd()): Reference {
  let rest = s.slice(LAYOUT_PREFIX.length);
  if (!rest) throw new LayoutError(`"${s}" names no layout directory; use oci-layout:PATH[:TAG|@DIGEST]`);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at > 0 && isSha256Digest(rest.slice(at + 1))) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && colon > 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!tag && !digest) tag = 'latest';
  const path = isAbsolute(rest) ? rest : resolvePath(cwd, rest);
  return { registry: LAYOUT_REGISTRY, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Formats a layout Reference back into its `oci-layout:` string. */
export function formatLayoutReference(ref: Reference): string {
  return `${LAYOUT_PREFIX}${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function blobPath(layout: string, digest: string): string {
  if (!isSha256Digest(digest)) throw new LayoutError(`unsupported or malformed digest ${JSON.stringify(digest)} in layout ${layout}`);
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Reads a small blob and checks its digest: a layout on disk is no more trusted than a registry. */
async function readVerified(layout: string, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
  if (desc.size > MAX_JSON) throw new LayoutError(`blob ${desc.digest} in ${layout} is ${desc.size} bytes, over the ${MAX_JSON}-byte limit for metadata`);
  const bytes = await readFile(blobPath(layout, desc.digest)).catch((err: NodeJS.ErrnoException) => {
    throw new LayoutError(`blob ${desc.digest} is missing from layout ${layout} (${err.code ?? err.message})`);
  });
  const got = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  if (got !== desc.digest) throw new LayoutError(`blob ${desc.digest} in layout ${layout} has digest ${got}: the layout is damaged`, 'DIGEST_MISMATCH');
  return bytes;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new LayoutError(`${what} is not valid JSON`);
  }
}

/** Fetches images from an OCI image layout directory (`oci-layout:PATH[:TAG|@DIGEST]`). */
export class LayoutFetcher implements Fetcher {
  private async topDescriptor(ref: Reference): Promise<Descriptor> {
    const idxPath = join(ref.repository, 'index.json');
    const raw = await readFile(idxPath).catch(() => {
      throw new LayoutError(`${ref.repository} is not an OCI image layout (no readable index.json)`);
    });
    if (raw.length > MAX_JSON) throw new LayoutError(`${idxPath} is over ${MAX_JSON} bytes`);
    const index = parseJson<ImageIndex>(raw, idxPath);
    const list = Array.isArray(index.manifests) ? index.manifests : [];
    const found = ref.digest
      ? list.find((d) => d.digest === ref.digest)
      : list.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref.tag);
    if (found) return found;
    if (ref.digest) {
      // A digest not listed at the top may still be a blob of the layout (a child of an index).
      const st = await stat(blobPath(ref.repository, ref.digest)).catch(() => undefined);
      if (st) return { mediaType: MediaType.OciManifest, digest: ref.digest, size: st.size };
    }
    const tags = list.map((d) => d.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
    throw new LayoutError(
      `${ref.digest ?? ref.tag} is not in layout ${ref.repository}; it holds ${tags.length ? tags.join(', ') : 'no tagged images'}`,
      'MANIFEST_UNKNOWN',
    );
  }

  async head(ref: Reference): Promise<{ digest: string; mediaType: string }> {
    const d = await this.topDescriptor(ref);
    return { digest: d.digest, mediaType: d.mediaType };
  }

  async resolve(ref: Reference, opts: { platform: Platform }): Promise<ResolvedImage> {
    const top = await this.topDescriptor(ref);
    // The same validation as for a registry: media types, schema version, descriptor shapes.
    const ctx = { registry: LAYOUT_REGISTRY, repository: ref.repository };
    let desc = top;
    let bytes = await readVerified(ref.repository, desc);
    let parsed = parseManifest(bytes, desc.mediaType, ctx);
    if (parsed.kind === 'index') {
      desc = selectManifest(parsed.index, opts.platform);
      bytes = await readVerified(ref.repository, desc);
      parsed = parseManifest(bytes, desc.mediaType, ctx);
    }
    if (parsed.kind !== 'manifest') throw new LayoutError(`manifest ${desc.digest} in ${ref.repository} is an index inside an index; bbox expects an image manifest there`);
    const manifest = parsed.manifest;
    const configBytes = await readVerified(ref.repository, manifest.config);
    const config = parseImageConfig(configBytes, manifest, ctx);
    return {
      ref,
      topDigest: top.digest,
      digest: desc.digest,
      mediaType: parsed.mediaType,
      manifest,
      manifestBytes: bytes,
      config,
      configBytes,
    };
  }

  async openLayer(
    ref: Reference,
    desc: Descriptor,
    opts: { onProgress?: (done: number, total: number) => void },
  ): Promise<Readable> {
    const path = blobPath(ref.repository, desc.digest);
    const st = await stat(path).catch(() => {
      throw new LayoutError(`layer ${desc.digest} is missing from layout ${ref.repository}`);
    });
    if (st.size !== desc.size) throw new LayoutError(`layer ${desc.digest} in ${ref.repository} is ${st.size} bytes, the manifest says ${desc.size}`, 'SIZE_MISMATCH');
    // pipeline, not pipe: a read error reaches the consumer, and a consumer that stops closes the file.
    return pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), verifyingStream(desc, opts.onProgress), () => undefined);
  }
}

/** A pass-through that hashes what flows and fails at the end when the digest differs. */
function verifyingStream(desc: Descriptor, onProgress?: (done: number, total: number) => void): Transform {
  const hash = createHash('sha256');
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      done += chunk.length;
      onProgress?.(done, desc.size);
      cb(null, chunk);
    },
    flush(cb) {
      const got = 'sha256:' + hash.digest('hex');
      if (got !== desc.digest) cb(new LayoutError(`layer ${desc.digest} has digest ${got}: the layout is damaged`, 'DIGEST_MISMATCH'));
      else cb();
    },
  });
}
