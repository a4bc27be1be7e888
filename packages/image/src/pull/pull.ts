import type { ClientOptions, NetworkOptions, Platform, Reference, ResolvedImage } from 'oci-client-lite';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { hostPlatform, parsePlatform } from 'oci-client-lite/platform';
import { Cache } from '../cache/cache.js';
import { cacheWriter, type RefDraft } from '../cache/writer.js';
import { EntryNotFoundError, ImageNotCachedError } from '../errors/cache-errors.js';
import { parsePullPolicy, formatPullPolicy } from './policy.js';
import { LAYOUT_PREFIX, LAYOUT_REGISTRY, LayoutFetcher, formatLayoutReference, parseLayoutReference } from './layout-fetcher.js';
import { RegistryFetcher } from './registry-fetcher.js';
import { CachedRegistryFetcher } from '../registry-cache/cached-fetcher.js';
import type { RegistryCacheHook } from '../registry-cache/mirror-hook.js';
import type { MaterialiseStats } from './materialise.js';
import { PinnedDigestMismatchError, PullError } from '../errors/pull-errors.js';
import type { ExtractLimits, Fetcher, PullPolicy, PullProgress, RefreshResult, RootFS } from '../types.js';
import { isSha256Digest } from '../digest.js';
import { resolveExtractLimits } from '../layers/limits.js';

/** Options of {@link pullWithFetcher}. */
export interface PullOptions {
  /** The cache to read and fill (default: `new Cache()`, i.e. $XDG_CACHE_HOME/broodbox/images). */
  cache?: Cache;
  /** Pull policy or its string form (`always`, `if-not-present`, `never`, `background`, `max-age=24h`). Default `if-not-present`. */
  policy?: PullPolicy | string;
  /**
   * When the reference (or `digest`) pins a digest, serve that digest from the cache with no network,
   * or fetch it BY DIGEST when missing, whatever the policy; no tag mapping is consulted. Default true.
   */
  forceOnPinnedDigest?: boolean;
  /** An expected manifest (or index) digest for the reference. */
  digest?: string;
  /** Target platform (`linux/arm64/v8` or an object). Default: the host's. */
  platform?: Platform | string;
  /** Where images come from. Default: the registry (with mirrors), or the layout for `oci-layout:` refs. */
  fetcher?: Fetcher;
  /** Registry settings for the default fetcher (mirrors, insecure hosts, …). */
  registries?: ClientOptions['registries'];
  /** Hosts reached over plain HTTP. Loopback registries need no entry. */
  insecure?: string[];
  /** Bypass configured mirrors for this pull (`--no-registry-cache`). */
  noRegistryCache?: boolean;
  /**
   * Pull-through registry caches for the default fetcher: asked for a mirror on the first network
   * request to a registry (see `registryCacheHook` in `@broodbox/image/registry-cache`). Ignored
   * with `noRegistryCache`.
   */
  registryCache?: RegistryCacheHook;
  /** Proxies, certs.d roots, name lookup and warnings for the default fetcher (TLS per host is in `registries`). */
  network?: NetworkOptions;
  signal?: AbortSignal;
  onProgress?: (e: PullProgress) => void;
  limits?: Partial<ExtractLimits>;
}

/** What a pull did, for reporting. */
export interface PullStats extends MaterialiseStats {
  /** True when the registry (or layout) was contacted. */
  network: boolean;
  /** For `always`/`max-age`: the tag still points where it did. */
  unchanged?: boolean;
}

/** A pulled (or cached) rootfs and what it took. */
export interface PullResult extends RootFS {
  policy: string;
  stats: PullStats;
}

interface Target {
  ref: Reference;
  /** `options.limits` with the defaults filled in (an `undefined` field keeps its default). */
  limits: ExtractLimits;
  refString: string;
  fetcher: Fetcher;
  platform: Platform;
  cache: Cache;
  options: PullOptions;
}

const NO_FETCH: MaterialiseStats = { layersFetched: 0, bytesFetched: 0, layersReused: 0 };

function toPlatform(p: Platform | string | undefined): Platform {
  if (!p) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

/** The fetcher a pull uses when given none: the registry, with mirrors, registry caches and the network options. */
export function defaultFetcher(options: PullOptions): Fetcher {
  const clientOptions: ClientOptions = { ...options.network };
  if (options.registries) clientOptions.registries = options.registries;
  if (options.insecure) clientOptions.insecure = options.insecure;
  if (options.noRegistryCache) clientOptions.disableMirrors = true;
  if (options.registryCache && !options.noRegistryCache) return new CachedRegistryFetcher(clientOptions, options.registryCache);
  return new RegistryFetcher(clientOptions);
}

function toTarget(refString: string, options: PullOptions): Target {
  const isLayout = refString.startsWith(LAYOUT_PREFIX);
  const ref = isLayout ? parseLayoutReference(refString) : parseReference(refString);
  const fetcher = options.fetcher ?? (isLayout ? new LayoutFetcher() : defaultFetcher(options));
  const format = isLayout ? formatLayoutReference : formatReference;
  const limits = resolveExtractLimits(options.limits);
  return { ref, refString: format(ref), limits, fetcher, platform: toPlatform(options.platform), cache: options.cache ?? new Cache(), options };
}

function result(rootfs: RootFS, policy: PullPolicy, stats: Partial<PullStats> & { network: boolean }): PullResult {
  return { ...rootfs, policy: formatPullPolicy(policy), stats: { ...NO_FETCH, ...stats } };
}

/**
 * Turns an image reference into a rootfs directory in the cache, under a pull policy.
 *
 * - `if-not-present` (default): a cached ref costs no network.
 * - `always`: one HEAD; an unchanged digest reuses the extraction; a new one fetches only missing layers.
 * - `never`: only the cache; {@link ImageNotCachedError} when the ref is not there.
 * - `background`: the cached rootfs at once, and `refresh` (a promise) re-resolving for next time;
 *   a failed refresh keeps the old entry and ref.
 * - `max-age=<duration>`: the cache while the ref was resolved within the duration, else `always`.
 *
 * A pinned digest (`name@sha256:…`, `name:tag@sha256:…`, or `digest`) with `forceOnPinnedDigest`
 * is served by digest: from the cache with no network, else fetched by digest and verified;
 * a tag's cached mapping never satisfies it.
 *
 * The returned `path` is read-only by contract: it shares files with the layer store. Use
 * `cache.clone()` for a writable copy.
 */
export async function pullWithFetcher(ref: string, options: PullOptions = {}): Promise<PullResult> {
  const policy = typeof options.policy === 'string' ? parsePullPolicy(options.policy) : (options.policy ?? { kind: 'if-not-present' });
  const t = toTarget(ref, options);
  const pinned = pinnedDigest(t);
  // Without a tag there is nothing but the digest to go by, whatever forceOnPinnedDigest says.
  if (pinned && (options.forceOnPinnedDigest !== false || !t.ref.tag)) return pullPinned(t, pinned, policy);
  // Not forced: the tag decides under the policy (its cached mapping included), the pin only checks.
  const got = await pullTag(pinned ? tagOnly(t) : t, policy);
  if (pinned && got.digest !== pinned && (await t.cache.get(pinned, { platform: t.platform }))?.digest !== got.digest) {
    throw new PinnedDigestMismatchError(t.refString, pinned, got.digest);
  }
  return got;
}

function tagOnly(t: Target): Target {
  const ref: Reference = { registry: t.ref.registry, repository: t.ref.repository, ...(t.ref.tag ? { tag: t.ref.tag } : {}) };
  const format = ref.registry === LAYOUT_REGISTRY ? formatLayoutReference : formatReference;
  return { ...t, ref, refString: format(ref) };
}

function pinnedDigest(t: Target): string | undefined {
  const asked = t.options.digest;
  if (asked && !isSha256Digest(asked)) {
    throw new PullError('INVALID_DIGEST', `digest option ${JSON.stringify(asked)} is not a sha256 digest (sha256:<64 hex>)`);
  }
  if (asked && t.ref.digest && asked !== t.ref.digest) {
    throw new PullError('INVALID_DIGEST', `${t.refString} pins ${t.ref.digest} but the digest option asks for ${asked}`);
  }
  return asked ?? t.ref.digest;
}

/** A pinned digest is immutable: the cache by digest, else a fetch by digest. Tags play no part. */
async function pullPinned(t: Target, digest: string, policy: PullPolicy): Promise<PullResult> {
  const hit = await t.cache.get(digest, { platform: t.platform });
  if (hit) {
    t.options.onProgress?.({ type: 'cache-hit', ref: t.refString, digest: hit.digest, network: false });
    return result({ ...hit, ref: t.refString, fromCache: true }, policy, { network: false });
  }
  if (policy.kind === 'never') throw new ImageNotCachedError(t.refString, formatPullPolicy(policy));
  const byDigest: Reference = { registry: t.ref.registry, repository: t.ref.repository, digest };
  const resolved = await t.fetcher.resolve(byDigest, { platform: t.platform, ...signalOf(t) });
  if (resolved.topDigest !== digest) throw new PinnedDigestMismatchError(t.refString, digest, resolved.topDigest);
  const { rootfs, stats } = await materialiseAndRecord(t, resolved, byDigest);
  return result({ ...rootfs, ref: t.refString }, policy, { ...stats, network: true });
}

async function pullTag(t: Target, policy: PullPolicy): Promise<PullResult> {
  switch (policy.kind) {
    case 'if-not-present':
    case 'never': {
      const hit = await cachedByRef(t);
      if (hit) return result(hit, policy, { network: false });
      if (policy.kind === 'never') throw new ImageNotCachedError(t.refString, formatPullPolicy(policy));
      return fetchTag(t, policy);
    }
    case 'always':
      return refreshTag(t, policy);
    case 'max-age': {
      // The record read for its age also says which entry to serve: one read of it, not two.
      const record = await t.cache.refRecord(t.ref, t.platform);
      const fresh = record && Date.now() - record.resolvedAt <= policy.maxAgeMs;
      const hit = fresh ? await cachedByRecord(t, record) : undefined;
      if (hit) return result(hit, policy, { network: false });
      return refreshTag(t, policy);
    }
    case 'background': {
      const hit = await cachedByRef(t);
      if (!hit) return fetchTag(t, policy);
      const refresh = refreshTag(t, { kind: 'always' }).then(
        (r): RefreshResult => ({ ok: true, digest: r.digest, changed: r.digest !== hit.digest }),
        (error: Error): RefreshResult => ({ ok: false, error }),
      );
      return { ...result(hit, policy, { network: false }), refresh };
    }
  }
}

async function cachedByRef(t: Target): Promise<RootFS | undefined> {
  return servedHit(t, await t.cache.lookupRef(t.ref, { platform: t.platform }));
}

/** What {@link cachedByRef} answers, from a ref record already read: the entry it names. */
async function cachedByRecord(t: Target, record: { digest: string }): Promise<RootFS | undefined> {
  return servedHit(t, await t.cache.get(record.digest, { platform: t.platform }));
}

function servedHit(t: Target, hit: RootFS | undefined): RootFS | undefined {
  if (!hit) return undefined;
  t.options.onProgress?.({ type: 'cache-hit', ref: t.refString, digest: hit.digest, network: false });
  return { ...hit, ref: t.refString, fromCache: true };
}

/**
 * Asks the registry where the tag points now (one HEAD). Unchanged → the cached entry, no other
 * request; a digest already held (e.g. the tag moved back) → that entry; else a pull of what is missing.
 */
async function refreshTag(t: Target, policy: PullPolicy): Promise<PullResult> {
  // While the HEAD is in flight the cache is read and the refreshed record is written aside and
  // flushed; nothing is marked or put in place before the registry answers. An unchanged tag then
  // costs the round trip and a rename.
  const known = settle(t.cache.refRecord(t.ref, t.platform));
  const ahead = known.then((r) => (r.ok && r.value ? readAhead(t, r.value) : undefined));
  let head: { digest: string };
  try {
    head = await t.fetcher.head(t.ref, signalOf(t));
  } catch (err) {
    await (await ahead)?.draft?.discard().catch(() => undefined);
    throw err;
  }
  const record = unwrap(await known);
  const guess = await ahead;
  const found = guess?.entry.ok && typeof guess.entry.value === 'object' ? guess.entry.value : undefined;
  const peeked = record?.topDigest === head.digest ? found : undefined;
  const draft = peeked && guess?.draft && peeked.digest === record?.digest ? guess.draft : undefined;
  if (!draft) await guess?.draft?.discard().catch(() => undefined);
  const held = peeked ?? (await t.cache.get(head.digest, { platform: t.platform }));
  if (held) {
    const unchanged = record?.topDigest === head.digest;
    try {
      await Promise.all([
        // What get() would have done for the entry read ahead.
        peeked ? t.cache.touch(peeked.digest) : undefined,
        draft ? draft.commit() : cacheWriter(t.cache).recordRef(t.ref, { digest: held.digest, topDigest: head.digest, platform: t.platform }),
      ]);
    } catch (err) {
      // A gc, evict or purge of another process took the entry between the look and the record:
      // the image is simply not cached any more, so pull it.
      if (err instanceof EntryNotFoundError) return fetchTag(t, policy, head.digest);
      throw err;
    }
    t.options.onProgress?.({ type: 'cache-hit', ref: t.refString, digest: held.digest, network: true });
    return result({ ...held, ref: t.refString, fromCache: true }, policy, { network: true, unchanged });
  }
  return fetchTag(t, policy, head.digest);
}

type Draft = RefDraft;

/** The entry the ref's record points at, and that record refreshed, prepared in case the tag has not moved. */
async function readAhead(t: Target, record: { digest: string; topDigest: string }): Promise<{ entry: Settled<RootFS | 'unsure' | undefined>; draft?: Draft }> {
  const [entry, draft] = await Promise.all([
    settle(t.cache.peek(record.topDigest, { platform: t.platform })),
    settle(cacheWriter(t.cache).prepareRef(t.ref, { digest: record.digest, topDigest: record.topDigest, platform: t.platform })),
  ]);
  return draft.ok ? { entry, draft: draft.value } : { entry };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so work started ahead cannot become an unhandled rejection. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

/**
 * Pulls what the tag points at and records it. Cold, the fetcher resolves the tag itself (for the
 * registry: one GET whose body starts the pull). After a HEAD, the digest it named is fetched by
 * digest: the tag is not resolved twice, and the image recorded is the one the HEAD saw.
 */
async function fetchTag(t: Target, policy: PullPolicy, headDigest?: string): Promise<PullResult> {
  const at: Reference = headDigest ? { registry: t.ref.registry, repository: t.ref.repository, digest: headDigest } : t.ref;
  const resolved: ResolvedImage = await t.fetcher.resolve(at, { platform: t.platform, ...signalOf(t) });
  const { rootfs, stats } = await materialiseAndRecord(t, resolved, t.ref);
  return result({ ...rootfs, ref: t.refString }, policy, { ...stats, network: true });
}

/**
 * Brings the image into the cache and records the ref. The entry is held from before it is
 * published until its ref is recorded: in between no ref points at it and gc would take it.
 */
async function materialiseAndRecord(t: Target, resolved: ResolvedImage, ref: Reference) {
  const release = await t.cache.hold(resolved.digest);
  try {
    // Loaded here, not at start-up: a pull answered from the cache never needs the layer engine.
    const { materialise } = await import('./materialise.js');
    const done = await materialise(t.cache, t.fetcher, resolved, materialiseOptions(t));
    await cacheWriter(t.cache).recordRef(ref, { digest: resolved.digest, topDigest: resolved.topDigest, platform: t.platform });
    return done;
  } finally {
    await release();
  }
}

function signalOf(t: Target): { signal?: AbortSignal } {
  return t.options.signal ? { signal: t.options.signal } : {};
}

function materialiseOptions(t: Target) {
  return {
    ref: t.ref,
    refString: t.refString,
    platform: t.platform,
    ...(t.options.signal ? { signal: t.options.signal } : {}),
    ...(t.options.onProgress ? { onProgress: t.options.onProgress } : {}),
    limits: t.limits,
  };
}
