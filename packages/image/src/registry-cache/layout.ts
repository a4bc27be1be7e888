import { homedir } from 'node:os';
import { join } from 'node:path';
import { upstreamDirName } from './upstreams.js';

/**
 * `$XDG_CACHE_HOME/broodbox/registry-cache` (default `~/.cache/broodbox/registry-cache`): beside
 * the image cache, not in it, so emptying the image cache keeps what the registry caches hold.
 */
export function defaultRegistryCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache');
  return join(base, 'broodbox', 'registry-cache');
}

/** Where one cache keeps its files. */
export interface CacheFiles {
  dir: string;
  /** The distribution config (no credentials, ever). */
  config: string;
  /** pid, port and instance nonce of the running process. */
  state: string;
  /** The registry's output, access log included: where hit counts come from. */
  log: string;
  /** Blob and manifest storage. */
  data: string;
  /** The blobs bbox fetched itself and stored into `data` (JSON lines): counted as misses, and given distribution's expiry. */
  stored: string;
}

/** The files of the cache for `upstream` under `root`. */
export function cacheFiles(root: string, upstream: string): CacheFiles {
  const dir = join(root, upstreamDirName(upstream));
  return { dir, config: join(dir, 'config.yml'), state: join(dir, 'state.json'), log: join(dir, 'registry.log'), data: join(dir, 'data'), stored: join(dir, 'stored.log') };
}

/** Cross-process locks around starting and stopping a cache. */
export function locksDir(root: string): string {
  return join(root, 'locks');
}

/** The time the "install docker-registry" hint was last shown. */
export function hintStampFile(root: string): string {
  return join(root, 'hint-shown');
}
