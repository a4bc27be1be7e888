import { RegistryCacheError } from './errors.js';

/** Registry name (as in image references) → the URL a cache for it pulls from. */
export type RegistryCacheUpstreams = Record<string, string>;

/** The registries that get a cache unless the list is configured. */
export const DEFAULT_UPSTREAMS: Readonly<RegistryCacheUpstreams> = Object.freeze({
  'docker.io': 'https://registry-1.docker.io',
  'ghcr.io': 'https://ghcr.io',
  'quay.io': 'https://quay.io',
});

/**
 * Parses the list form used by `BBOX_REGISTRY_CACHE_UPSTREAMS`: `name=url` pairs separated by
 * commas or spaces (`docker.io=http://127.0.0.1:5000,ghcr.io=https://ghcr.io`). Empty or `none`:
 * no upstream at all.
 */
export function parseUpstreamList(text: string): RegistryCacheUpstreams {
  const out: RegistryCacheUpstreams = {};
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return out;
  for (const pair of trimmed.split(/[\s,]+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new RegistryCacheError('REGISTRY_CACHE_BAD_UPSTREAM', `${JSON.stringify(pair)} is not name=url; write e.g. docker.io=https://registry-1.docker.io`);
    const name = pair.slice(0, eq);
    out[name] = checkUpstreamUrl(name, pair.slice(eq + 1));
  }
  return out;
}

/** The upstream URL, checked to be http(s) with no credentials in it. */
export function checkUpstreamUrl(name: string, url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RegistryCacheError('REGISTRY_CACHE_BAD_UPSTREAM', `upstream ${name}: ${JSON.stringify(url)} is not a URL; write e.g. https://registry-1.docker.io`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RegistryCacheError('REGISTRY_CACHE_BAD_UPSTREAM', `upstream ${name}: ${JSON.stringify(url)} must be http:// or https://`);
  // Credentials never go into a cache's config, so none may hide in its URL either.
  if (u.username || u.password) throw new RegistryCacheError('REGISTRY_CACHE_BAD_UPSTREAM', `upstream ${name}: the URL must not carry credentials`);
  return u.href.replace(/\/$/, '');
}

/** A directory name for an upstream (`127.0.0.1:5000` → `127.0.0.1_5000`). */
export function upstreamDirName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === '' || safe === '.' || safe === '..') throw new RegistryCacheError('REGISTRY_CACHE_BAD_UPSTREAM', `${JSON.stringify(name)} is not a registry name`);
  return safe;
}
