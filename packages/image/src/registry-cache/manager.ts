import { mkdir, readdir, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { withLock } from '../cache/lock.js';
import { findRegistryBinary, REGISTRY_BINARY } from './binary.js';
import { diskUsage } from './disk-usage.js';
import { RegistryCacheError } from './errors.js';
import { probeCache } from './health.js';
import { readHitCounts, type HitCounts } from './hit-counts.js';
import { launchCache } from './launch.js';
import { cacheFiles, defaultRegistryCacheRoot, locksDir, type CacheFiles } from './layout.js';
import { isCacheProcess, processAlive } from './process-check.js';
import { scheduleStoredBlobs } from './scheduler-entries.js';
import { readState, removeState, writeState, type CacheState } from './state.js';
import { readStored } from './stored-log.js';
import { DEFAULT_UPSTREAMS, checkUpstreamUrl, upstreamDirName, type RegistryCacheUpstreams } from './upstreams.js';

/** Options of {@link RegistryCaches}. */
export interface RegistryCachesOptions {
  /** Where the caches keep their files (default `$XDG_CACHE_HOME/broodbox/registry-cache`). */
  root?: string;
  /** Registry name → upstream URL (default {@link DEFAULT_UPSTREAMS}). */
  upstreams?: RegistryCacheUpstreams;
  /** Path of `docker-registry` (default: found on PATH, then /usr/bin). */
  binary?: string;
  /** Environment for the defaults (XDG_CACHE_HOME, PATH). */
  env?: NodeJS.ProcessEnv;
}

/** A cache that is running and answering, as recorded in its state file. */
export interface RunningCache extends CacheState {
  /** `http://127.0.0.1:PORT`: the mirror URL. */
  url: string;
}

/** One cache as `status` reports it. */
export interface RegistryCacheStatus {
  upstream: string;
  /** Where it pulls from; undefined for a leftover cache of an upstream no longer configured. */
  remoteUrl: string | undefined;
  /** In the configured upstream list. */
  configured: boolean;
  running: boolean;
  /** `127.0.0.1:PORT` while running. */
  address?: string;
  url?: string;
  pid?: number;
  startedAt?: string;
  /** The cache's directory. */
  dir: string;
  /** Bytes on disk (storage, log, config). */
  diskBytes: number;
  hits: HitCounts;
}

/** What {@link RegistryCaches.prune} removed (or, with `dryRun`, would remove). */
export interface PruneEntry {
  upstream: string;
  dir: string;
  bytes: number;
  /** It was running and was stopped first. */
  stopped: boolean;
}

/** What {@link RegistryCaches.stop} did for one cache. */
export interface StopEntry {
  upstream: string;
  /** The pid that was stopped; undefined when it was not running. */
  pid?: number;
}

const STOP_WAIT_MS = 10_000;
const LOCK_TIMEOUT_MS = 60_000;

async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * The pull-through registry caches of one user: one CNCF distribution (`docker-registry`) in proxy
 * mode per upstream registry, on a loopback port, detached so it outlives the process that started
 * it, with its files under {@link RegistryCachesOptions.root}. Starting is locked across processes,
 * so two callers never start two caches for one upstream; a state file whose process is gone,
 * or whose port answers as something else, is replaced.
 */
export class RegistryCaches {
  readonly root: string;
  readonly upstreams: Readonly<RegistryCacheUpstreams>;
  private readonly explicitBinary: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: RegistryCachesOptions = {}) {
    this.env = opts.env ?? process.env;
    this.root = opts.root ?? defaultRegistryCacheRoot(this.env);
    const ups = opts.upstreams ?? DEFAULT_UPSTREAMS;
    this.upstreams = Object.fromEntries(Object.entries(ups).map(([name, url]) => [name, checkUpstreamUrl(name, url)]));
    this.explicitBinary = opts.binary;
  }

  /** The `docker-registry` that would be run, or undefined when it is not installed. */
  binary(): string | undefined {
    return findRegistryBinary({ explicit: this.explicitBinary, env: this.env });
  }

  /** True when `registry` has a cache in the configured list. */
  covers(registry: string): boolean {
    return Object.hasOwn(this.upstreams, registry);
  }

  private files(upstream: string): CacheFiles {
    return cacheFiles(this.root, upstream);
  }

  /** The cache's record when its process is alive, is our registry and answers with its nonce. */
  private async verified(files: CacheFiles): Promise<CacheState | undefined> {
    const state = await readState(files.state);
    if (!state || !processAlive(state.pid) || !isCacheProcess(state.pid, files.config)) return undefined;
    return (await probeCache(state.port, state.nonce)) === 'ours' ? state : undefined;
  }

  /** Where the cache of `upstream` keeps its storage, and the record of the blobs bbox stored into it. */
  storage(upstream: string): { dataDir: string; storedLog: string } {
    const files = this.files(upstream);
    return { dataDir: files.data, storedLog: files.stored };
  }

  /** The running cache of `upstream`, verified, without starting anything or writing any file. */
  async running(upstream: string): Promise<RunningCache | undefined> {
    if (!this.covers(upstream)) return undefined;
    const s = await this.verified(this.files(upstream));
    return s && { ...s, url: `http://127.0.0.1:${s.port}` };
  }

  /**
   * The cache of `upstream`, started when it is not running (or adopted when another process
   * started it meanwhile). Throws {@link RegistryCacheError} when it cannot start.
   */
  async ensure(upstream: string): Promise<RunningCache> {
    const remoteUrl = this.upstreams[upstream];
    if (remoteUrl === undefined) throw new RegistryCacheError('REGISTRY_CACHE_UNKNOWN_UPSTREAM', `${upstream} has no registry cache; configured: ${Object.keys(this.upstreams).join(', ') || 'none'}`);
    const up = await this.running(upstream);
    if (up && up.remoteUrl === remoteUrl) return up;
    const binary = this.binary();
    if (!binary) throw new RegistryCacheError('REGISTRY_CACHE_NO_BINARY', `${REGISTRY_BINARY} is not installed (looked on PATH and in /usr/bin)`);
    const files = this.files(upstream);
    await mkdirPrivate(files.data);
    await mkdirPrivate(locksDir(this.root));
    const state = await withLock(locksDir(this.root), `start-${upstreamDirName(upstream)}`, async () => {
      // Another process may have started it while this one waited for the lock.
      const current = await this.verified(files);
      if (current && current.remoteUrl === remoteUrl) return current;
      const previous = await readState(files.state);
      if (previous) await this.kill(previous, files);
      // Not running now: the only moment its expiry schedule can be added to.
      await scheduleStoredBlobs(files.data, await readStored(files.stored)).catch(() => 0);
      const started = await launchCache(binary, files, upstream, remoteUrl, previous?.port);
      await writeState(files.state, started);
      return started;
    }, { timeoutMs: LOCK_TIMEOUT_MS });
    return { ...state, url: `http://127.0.0.1:${state.port}` };
  }

  /** Stops a recorded process if it is really this cache's registry; waits until it is gone. */
  private async kill(state: CacheState, files: CacheFiles): Promise<boolean> {
    if (!processAlive(state.pid) || !isCacheProcess(state.pid, files.config)) return false;
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_WAIT_MS;
    // Not our child (it was detached, maybe by another process): no exit event to wait on.
    while (processAlive(state.pid) && Date.now() < deadline) await delay(25);
    if (processAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
    while (processAlive(state.pid) && Date.now() < deadline + STOP_WAIT_MS) await delay(25);
    if (processAlive(state.pid)) throw new RegistryCacheError('REGISTRY_CACHE_STOP_FAILED', `the registry cache for ${state.upstream} (pid ${state.pid}) did not stop`);
    return true;
  }

  /** Upstream names with a directory under the root (configured or left over). */
  private async known(): Promise<string[]> {
    const dirs = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    const byDir = new Map(Object.keys(this.upstreams).map((u) => [upstreamDirName(u), u]));
    const found = dirs.filter((d) => d.isDirectory() && d.name !== 'locks').map((d) => byDir.get(d.name) ?? d.name);
    return [...new Set([...Object.keys(this.upstreams), ...found])];
  }

  /** Stops the caches of `only` (default: every cache with files under the root). */
  async stop(only?: string[]): Promise<StopEntry[]> {
    const out: StopEntry[] = [];
    for (const upstream of only ?? (await this.known())) {
      const files = this.files(upstream);
      const state = await readState(files.state);
      if (!state) {
        out.push({ upstream });
        continue;
      }
      const run = async () => {
        const stopped = await this.kill(state, files);
        await removeState(files.state);
        out.push(stopped ? { upstream, pid: state.pid } : { upstream });
      };
      // No lock dir means nothing was ever started here by a locking process.
      await mkdirPrivate(locksDir(this.root));
      await withLock(locksDir(this.root), `start-${upstreamDirName(upstream)}`, run, { timeoutMs: LOCK_TIMEOUT_MS });
    }
    return out;
  }

  /** Every configured cache, and any left over under the root: address, process, disk use, hits. */
  async status(): Promise<RegistryCacheStatus[]> {
    const out: RegistryCacheStatus[] = [];
    for (const upstream of await this.known()) {
      const files = this.files(upstream);
      const state = await this.verified(files);
      const [diskBytes, hits] = await Promise.all([diskUsage(files.dir), readHitCounts(files.log, files.stored)]);
      const s: RegistryCacheStatus = { upstream, remoteUrl: this.upstreams[upstream], configured: this.covers(upstream), running: !!state, dir: files.dir, diskBytes, hits };
      if (state) Object.assign(s, { address: `127.0.0.1:${state.port}`, url: `http://127.0.0.1:${state.port}`, pid: state.pid, startedAt: state.startedAt });
      out.push(s);
    }
    return out;
  }

  /**
   * Removes what the caches hold (storage, log, config), stopping each running one first; a cache
   * is started again, empty, when next needed. `dryRun` only reports.
   */
  async prune(opts: { dryRun?: boolean; only?: string[] } = {}): Promise<PruneEntry[]> {
    const out: PruneEntry[] = [];
    for (const upstream of opts.only ?? (await this.known())) {
      const files = this.files(upstream);
      const bytes = await diskUsage(files.dir);
      if (bytes === 0) continue;
      const running = !!(await this.verified(files));
      if (!opts.dryRun) {
        await this.stop([upstream]);
        await rm(files.dir, { recursive: true, force: true });
      }
      out.push({ upstream, dir: files.dir, bytes, stopped: running });
    }
    return out;
  }
}
