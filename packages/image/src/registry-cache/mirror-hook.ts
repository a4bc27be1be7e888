import type { MirrorConfig } from 'oci-client-lite';
import { REGISTRY_BINARY } from './binary.js';
import { dueOncePerDay } from './hint-stamp.js';
import { hintStampFile } from './layout.js';
import { hasRegistryLogin } from './login-check.js';
import type { RegistryCaches } from './manager.js';

/** A cache's storage that bbox manages itself, and so may write blobs into. */
export interface CacheStorage {
  /** distribution's storage root (its `rootdirectory`). */
  dataDir: string;
  /** Where each blob stored by bbox is recorded (JSON lines, see stored-log.ts). */
  storedLog: string;
  /** The URL the cache pulls from: where bbox fetches the blobs it stores. */
  upstreamUrl: string;
}

/** The cache to put in front of a registry. */
export interface CacheMirror {
  /** Tried first for manifests, and for blobs the cache already holds. */
  mirror: MirrorConfig;
  /**
   * Present for a cache whose storage bbox manages: a blob the storage lacks is fetched from the
   * upstream once, anonymously, and stored into it, instead of asking the cache (which would
   * fetch it from the upstream twice: distribution 2.8 streams one copy and stores another).
   */
  storage?: CacheStorage;
}

/**
 * Asked by a pull, on its first network request to a registry, for a cache to try first. Undefined:
 * no cache, the pull goes as configured.
 */
export interface RegistryCacheHook {
  mirrorFor(registry: string): Promise<CacheMirror | undefined>;
}

/** Options of {@link registryCacheHook}. */
export interface RegistryCacheHookOptions {
  /** A cache could not be used (the pull goes direct); said once per registry per hook. */
  onWarning?: (message: string) => void;
  /** `docker-registry` is not installed; at most once a day (a stamp file under the root). */
  onHint?: (message: string) => void;
  /**
   * Also use the cache for registries the user has credentials for (docker config). The cache
   * still pulls anonymously: private repositories fall through to the registry itself.
   */
  useWhenLoggedIn?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** How to get the caches, for the hint. */
export const INSTALL_HINT = `${REGISTRY_BINARY} is not installed, so pulls go straight to the registry; install it (apt-get install docker-registry) for local pull-through caches (see bbox registry-cache status), or set registryCache: false to silence this`;

/**
 * The hook that makes each pull start (or adopt) the cache of its registry and use it as the first
 * mirror. Registries outside the upstream list, and those the user is logged in to (unless
 * `useWhenLoggedIn`), get none. A cache that cannot start means a direct pull and one warning.
 */
export function registryCacheHook(caches: RegistryCaches, opts: RegistryCacheHookOptions = {}): RegistryCacheHook {
  const warned = new Set<string>();
  let hinted = false;
  return {
    async mirrorFor(registry) {
      if (!caches.covers(registry)) return undefined;
      if (!opts.useWhenLoggedIn && (await hasRegistryLogin(registry, opts.env))) return undefined;
      if (!caches.binary()) {
        if (!hinted && opts.onHint && (await dueOncePerDay(hintStampFile(caches.root)))) opts.onHint(INSTALL_HINT);
        hinted = true;
        return undefined;
      }
      try {
        const c = await caches.ensure(registry);
        return { mirror: { url: c.url, insecure: true }, storage: { ...caches.storage(registry), upstreamUrl: c.remoteUrl } };
      } catch (err) {
        if (!warned.has(registry)) opts.onWarning?.(`the registry cache for ${registry} is not available, pulling directly: ${(err as Error).message}`);
        warned.add(registry);
        return undefined;
      }
    },
  };
}
