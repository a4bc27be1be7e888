// Minimal reads of the distribution API, for the harness's own bookkeeping (which digest a tag has,
// which layers an image holds). Never used to measure anything.
import { request } from 'node:http';

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

function call(method, url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { Accept: ACCEPT }, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.end();
  });
}

/** The digest a tag points at now, or undefined when the registry does not have it. */
export async function tagDigest(baseUrl, repo, tag) {
  try {
    const res = await call('HEAD', `${baseUrl}/v2/${repo}/manifests/${tag}`);
    return res.status === 200 ? String(res.headers['docker-content-digest']) : undefined;
  } catch {
    return undefined;
  }
}

/** The manifest of `repo:ref` with its digest. */
export async function getManifest(baseUrl, repo, ref) {
  const res = await call('GET', `${baseUrl}/v2/${repo}/manifests/${ref}`);
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${ref} from ${baseUrl} answered ${res.status}`);
  return { digest: String(res.headers['docker-content-digest']), manifest: JSON.parse(res.body.toString('utf8')) };
}

export async function registryUp(baseUrl) {
  try {
    return (await call('GET', `${baseUrl}/v2/`)).status === 200;
  } catch {
    return false;
  }
}

/** Digest, layer digests and sizes of an image, for checking what a pull fetched. */
export async function describeImage(baseUrl, repo, tag) {
  const { digest, manifest } = await getManifest(baseUrl, repo, tag);
  const layers = manifest.layers.map((l) => ({ digest: l.digest, size: l.size }));
  return {
    repo,
    tag,
    digest,
    config: manifest.config.digest,
    layers,
    compressedBytes: layers.reduce((a, l) => a + l.size, 0),
  };
}
