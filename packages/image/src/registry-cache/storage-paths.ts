import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where distribution's filesystem driver keeps everything, under its `rootdirectory`. */
const V2 = ['docker', 'registry', 'v2'];
const SHA256 = /^sha256:([a-f0-9]{64})$/;
/** A repository name as the distribution spec defines it: lowercase components, never `.` or `..`. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** The files that make one blob of one repository servable from a cache's storage. */
export interface StoredBlobPaths {
  /** `docker/registry/v2/blobs/sha256/<first two hex>/<hex>/data`: the bytes, shared by every repository. */
  data: string;
  /** `docker/registry/v2/repositories/<repo>/_layers/sha256/<hex>/link`: the repository may serve it. */
  link: string;
  /** What the link holds: the digest, with no newline (distribution parses the whole file). */
  linkContent: string;
}

/**
 * The paths of `digest` for `repository` in the storage of a distribution registry rooted at
 * `dataDir` (distribution 2.8's filesystem layout), or undefined for a digest that is not sha256 or
 * a repository name that is not a valid one (nothing outside the storage can ever be named).
 */
export function storedBlobPaths(dataDir: string, repository: string, digest: string): StoredBlobPaths | undefined {
  const hex = SHA256.exec(digest)?.[1];
  if (!hex || !REPOSITORY.test(repository)) return undefined;
  return {
    data: join(dataDir, ...V2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'),
    link: join(dataDir, ...V2, 'repositories', ...repository.split('/'), '_layers', 'sha256', hex, 'link'),
    linkContent: `sha256:${hex}`,
  };
}

/**
 * True when the cache would serve the blob from its own storage, without asking its upstream: what
 * its proxy's local `Stat` needs, the repository's link naming the digest and the data file, here
 * also of the expected size.
 */
export async function storageHolds(paths: StoredBlobPaths, size: number): Promise<boolean> {
  try {
    const [link, st] = await Promise.all([readFile(paths.link, 'utf8'), stat(paths.data)]);
    return link === paths.linkContent && st.isFile() && st.size === size;
  } catch {
    return false;
  }
}

/** Where blobs being written into the storage wait until they are complete: never seen by the registry. */
export function teeTempDir(dataDir: string): string {
  return join(dataDir, 'tee-tmp');
}
