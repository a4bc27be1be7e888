import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BuiltArtifact, BuiltImage } from '../images/image.js';
import { RegistryRequestError, RegistrySession, type Credentials } from './registry-session.js';
import { TestkitError } from '../errors.js';

/** Options for {@link pushImage}. */
export interface PushOptions {
  /** Tag to push the top manifest under; without it, the top manifest is pushed by digest only. */
  tag?: string;
  auth?: Credentials;
}

/** What {@link pushImage} did. */
export interface PushResult {
  /** Digest of the top manifest (the index for a multi-platform image). */
  digest: string;
  /** Blobs uploaded, and blobs the registry already had. */
  uploaded: string[];
  skipped: string[];
}

async function expectStatus(res: Response, ok: number[], what: string): Promise<void> {
  if (ok.includes(res.status)) {
    await res.arrayBuffer();
    return;
  }
  const body = await res.text();
  throw new RegistryRequestError(`${what} failed with ${res.status}: ${body.slice(0, 500)}`, res.status);
}

async function pushBlob(s: RegistrySession, repo: string, digest: string, data: Buffer, result: PushResult): Promise<void> {
  const head = await s.request('HEAD', `/v2/${repo}/blobs/${digest}`);
  await head.arrayBuffer();
  if (head.status === 200) {
    result.skipped.push(digest);
    return;
  }
  const start = await s.request('POST', `/v2/${repo}/blobs/uploads/`);
  await expectStatus(start, [202], `starting the upload of ${digest} to ${repo}`);
  const location = start.headers.get('location');
  if (!location) throw new RegistryRequestError(`upload of ${digest} to ${repo}: registry sent no Location`, start.status);
  const url = new URL(location, s.baseUrl + '/');
  url.searchParams.set('digest', digest);
  const put = await s.request('PUT', url.toString(), {
    body: data,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
  });
  await expectStatus(put, [201], `uploading ${digest} to ${repo}`);
  result.uploaded.push(digest);
}

async function pushManifest(s: RegistrySession, repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await s.request('PUT', `/v2/${repo}/manifests/${ref}`, { body: bytes, headers: { 'content-type': mediaType } });
  await expectStatus(res, [201], `pushing manifest ${repo}:${ref}`);
}

async function pushSingle(s: RegistrySession, repo: string, img: BuiltImage, ref: string, result: PushResult): Promise<void> {
  for (const [digest, data] of img.blobs) await pushBlob(s, repo, digest, data, result);
  await pushManifest(s, repo, ref, img.manifestBytes, img.mediaType);
}

/**
 * Pushes a built image or index to a registry over the distribution HTTP API: blobs (skipping
 * those the registry has), child manifests by digest, then the top manifest by tag (or digest).
 * Answers basic and bearer challenges with `auth`.
 */
export async function pushImage(registryUrl: string, repository: string, artifact: BuiltArtifact, opts: PushOptions = {}): Promise<PushResult> {
  const s = new RegistrySession(registryUrl, `repository:${repository}:pull,push`, opts.auth);
  const result: PushResult = { digest: artifact.digest, uploaded: [], skipped: [] };
  const topRef = opts.tag ?? artifact.digest;
  if (artifact.kind === 'image') {
    await pushSingle(s, repository, artifact, topRef, result);
    return result;
  }
  for (const img of artifact.images) await pushSingle(s, repository, img, img.digest, result);
  await pushManifest(s, repository, topRef, artifact.manifestBytes, artifact.mediaType);
  return result;
}

/** Options for {@link skopeoCopy}. */
export interface SkopeoCopyOptions {
  /** Copy every platform of an index (`--all`). */
  all?: boolean;
  srcCreds?: Credentials;
  destCreds?: Credentials;
  /** Keep the manifest bytes as they are (`--preserve-digests`). */
  preserveDigests?: boolean;
}

/** Raised when `skopeo copy` fails. */
export class SkopeoError extends TestkitError<'SKOPEO_FAILED'> {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super('SKOPEO_FAILED', message);
  }
}

const run = promisify(execFile);

/**
 * Runs `skopeo copy SRC DST` (TLS verification off on both sides, since harness registries
 * are plain HTTP on loopback), e.g. `skopeoCopy('oci:/tmp/l:v1', 'docker://127.0.0.1:5000/x:v1')`.
 */
export async function skopeoCopy(src: string, dst: string, opts: SkopeoCopyOptions = {}): Promise<string> {
  const args = ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false'];
  if (opts.all) args.push('--all');
  if (opts.preserveDigests) args.push('--preserve-digests');
  if (opts.srcCreds) args.push('--src-creds', `${opts.srcCreds.username}:${opts.srcCreds.password}`);
  if (opts.destCreds) args.push('--dest-creds', `${opts.destCreds.username}:${opts.destCreds.password}`);
  args.push(src, dst);
  try {
    const { stdout } = await run('skopeo', args, { maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new SkopeoError(`skopeo copy ${src} ${dst} failed: ${e.stderr || e.message}`, e.stderr ?? '');
  }
}
