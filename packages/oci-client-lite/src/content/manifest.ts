import { MediaType } from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../types.js';
import { InvalidManifestError, UnsupportedMediaTypeError, type ErrorContext } from '../errors.js';
import { isDigest } from './digest.js';

/** Largest manifest or index accepted (4 MiB, as distribution and containerd cap them). */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

/** The Accept header for manifest requests: every manifest and index type this client parses. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest].join(', ');

const MANIFEST_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);
const INDEX_TYPES = new Set<string>([MediaType.OciIndex, MediaType.DockerManifestList]);
const CONFIG_TYPES = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);
const SCHEMA1 = /application\/vnd\.docker\.distribution\.manifest\.v1\+(?:prettyjws|json)/;

/** A parsed manifest document: an image manifest or an index. */
export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/** True for the media types of indexes and Docker manifest lists. */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkDescriptor(v: unknown, where: string, ctx: ErrorContext): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError('manifest', `${where} is not an object`, ctx);
  if (typeof v.mediaType !== 'string' || !v.mediaType) throw new InvalidManifestError('manifest', `${where}.mediaType is missing`, ctx);
  if (typeof v.digest !== 'string' || !isDigest(v.digest)) {
    throw new InvalidManifestError('manifest', `${where}.digest ${JSON.stringify(v.digest)} is not a sha256/sha512 digest`, ctx);
  }
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw new InvalidManifestError('manifest', `${where}.size ${JSON.stringify(v.size)} is not a non-negative integer`, ctx);
  }
  return v as unknown as Descriptor;
}

function detectMediaType(doc: Record<string, unknown>, contentType: string | undefined): string {
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  const header = contentType?.split(';')[0]?.trim();
  if (header && (MANIFEST_TYPES.has(header) || INDEX_TYPES.has(header))) return header;
  // OCI allows omitting mediaType: tell the two kinds apart by shape.
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  return MediaType.OciManifest;
}

/**
 * Parses and validates an OCI or Docker schema 2 manifest or index. Schema 1 and other documents
 * are refused with {@link UnsupportedMediaTypeError}; malformed ones with {@link InvalidManifestError}.
 */
export function parseManifest(bytes: Buffer, contentType?: string, ctx: ErrorContext = {}): ParsedManifest {
  if (contentType && SCHEMA1.test(contentType)) throw schema1(contentType, ctx);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidManifestError('manifest', `it is not JSON (${(e as Error).message})`, ctx);
  }
  if (!isObject(doc)) throw new InvalidManifestError('manifest', 'it is not a JSON object', ctx);
  if (doc.schemaVersion === 1) throw schema1(String(doc.mediaType ?? contentType ?? 'schema 1'), ctx);
  if (doc.schemaVersion !== 2) throw new InvalidManifestError('manifest', `schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`, ctx);
  const mediaType = detectMediaType(doc, contentType);
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new InvalidManifestError('index', '"manifests" is not a list', ctx);
    doc.manifests.forEach((m, i) => checkDescriptor(m, `manifests[${i}]`, ctx));
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (!MANIFEST_TYPES.has(mediaType)) {
    throw new UnsupportedMediaTypeError(mediaType, 'not an image manifest or index; this client pulls container images only', ctx);
  }
  checkDescriptor(doc.config, 'config', ctx);
  if (!Array.isArray(doc.layers)) throw new InvalidManifestError('manifest', '"layers" is not a list', ctx);
  doc.layers.forEach((l, i) => checkDescriptor(l, `layers[${i}]`, ctx));
  return { kind: 'manifest', mediaType, manifest: doc as unknown as ImageManifest };
}

function schema1(mediaType: string, ctx: ErrorContext): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(
    mediaType,
    'Docker schema 1 manifests are deprecated and not supported; push the image again with a current client (it will write schema 2 or OCI)',
    ctx,
  );
}

/**
 * Parses and validates an image config against its manifest: a container image config type,
 * `rootfs.type` "layers", and one diff_id per layer.
 */
export function parseImageConfig(bytes: Buffer, manifest: ImageManifest, ctx: ErrorContext = {}): ImageConfig {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new UnsupportedMediaTypeError(manifest.config.mediaType, 'the manifest\'s config is not a container image config; this is an artifact, not an image', ctx);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidManifestError('image config', `it is not JSON (${(e as Error).message})`, ctx);
  }
  if (!isObject(doc)) throw new InvalidManifestError('image config', 'it is not a JSON object', ctx);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new InvalidManifestError('image config', 'rootfs must be {"type":"layers","diff_ids":[…]}', ctx);
  }
  for (const d of rootfs.diff_ids) {
    if (typeof d !== 'string' || !isDigest(d)) throw new InvalidManifestError('image config', `diff_id ${JSON.stringify(d)} is not a digest`, ctx);
  }
  if (rootfs.diff_ids.length !== manifest.layers.length) {
    throw new InvalidManifestError('image config', `it lists ${rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`, ctx);
  }
  return doc as unknown as ImageConfig;
}
