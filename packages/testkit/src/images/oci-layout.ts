import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, type Descriptor, type ImageIndex } from 'oci-client-lite';
import type { BuiltArtifact } from './image.js';

/** One tagged image of an OCI layout. */
export interface LayoutEntry {
  /** Written as the `org.opencontainers.image.ref.name` annotation. */
  tag: string;
  image: BuiltArtifact;
}

/** Every blob an artifact needs, manifests included, by digest. */
export function artifactBlobs(a: BuiltArtifact): Map<string, Buffer> {
  const all = new Map(a.blobs);
  all.set(a.digest, a.manifestBytes);
  if (a.kind === 'index') for (const img of a.images) all.set(img.digest, img.manifestBytes);
  return all;
}

async function writeBlob(dir: string, digest: string, data: Buffer): Promise<void> {
  const [alg, hex] = digest.split(':');
  const blobDir = join(dir, 'blobs', alg ?? 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(blobDir, hex ?? ''), data);
}

/**
 * Writes an OCI image layout at `dir` (created if missing): `oci-layout`, `index.json` with one
 * descriptor per entry annotated with its tag, and `blobs/sha256/<hex>` for every blob and manifest.
 * `umoci` and `skopeo` read it as `dir:tag` / `oci:dir:tag`.
 */
export async function writeOciLayout(dir: string, entries: LayoutEntry[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const manifests: Descriptor[] = [];
  for (const { tag, image } of entries) {
    for (const [digest, data] of artifactBlobs(image)) await writeBlob(dir, digest, data);
    manifests.push({
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.manifestBytes.length,
      annotations: { 'org.opencontainers.image.ref.name': tag },
    });
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
