import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type BuiltImage, type Registry } from '@broodbox/testkit';
import type { Test } from 'tap';
import { makeSandbox, type Sandbox } from '../bbox-process.js';
import { appImage, push, requestsFor } from '../registry-fixture.js';

/** What a registry-cache test works with. */
export interface CacheWorld {
  /**
   * The "upstream": a harness registry standing in for docker.io. The upstream list names it by its
   * own address, so that a direct pull (an opt-out, a cache that is down) reaches it too and never
   * the real docker.io.
   */
  upstream: Registry;
  sb: Sandbox;
  /** The sandbox's registry-cache root. */
  root: string;
  /** The upstream's cache directory. */
  dir: string;
  /** `127.0.0.1:PORT/library/app:1`, which the upstream holds. */
  ref: string;
  /** The image `ref` names. */
  image: BuiltImage;
  /** Env making the upstream the one cached registry. */
  env: Record<string, string>;
  pull(args?: string[], env?: Record<string, string>): ReturnType<Sandbox['run']>;
  /** The upstream's blob GETs so far (access-log lines), each with its user agent. */
  upstreamBlobGets(): Promise<string[]>;
  /** The pid the upstream cache's state file records, if any. */
  statePid(): number | undefined;
}

/** Every pid of a `docker-registry serve` of a config file under `root`. */
export function cacheProcesses(root: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (argv.includes('serve') && argv.some((a) => a.startsWith(root + '/'))) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Resolves once `pid` is gone (or a zombie whose threads have all exited, its sockets closed); rejects after 10 s. */
export async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  const alive = () => {
    try {
      if (!readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) return true;
      return readdirSync(`/proc/${pid}/task`).length > 1;
    } catch {
      return false;
    }
  };
  while (alive()) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still runs after 10 s`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * An upstream holding `library/app:1`, and a sandbox whose docker.io cache pulls from it. The
 * teardown stops every cache the test started: `bbox registry-cache stop`, then a kill of any
 * `docker-registry` still serving a config under the sandbox (e.g. one whose state file was lost).
 */
export async function cacheWorld(t: Test): Promise<CacheWorld> {
  const upstream = await startRegistry();
  t.teardown(() => upstream.stop());
  const image = appImage('cached');
  await push(upstream, 'library/app', '1', image);
  const sb = await makeSandbox();
  const root = join(sb.home, '.cache', 'broodbox', 'registry-cache');
  const env = { BBOX_REGISTRY_CACHE_UPSTREAMS: `${upstream.host}=${upstream.url}` };
  t.teardown(async () => {
    await sb.run(['registry-cache', 'stop'], { env });
    for (const pid of cacheProcesses(root)) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid);
    }
    await sb.cleanup();
  });
  const dir = join(root, upstream.host.replace(':', '_'));
  const ref = `${upstream.host}/library/app:1`;
  return {
    upstream,
    sb,
    root,
    dir,
    ref,
    image,
    env,
    pull: (args = [], extra = {}) => sb.run(['pull', '--cache-dir', sb.cacheDir, ...args, ref], { env: { ...env, ...extra } }),
    upstreamBlobGets: async () => (await requestsFor(upstream, 'library/app')).filter((l) => l.includes('/blobs/')),
    statePid() {
      const f = join(dir, 'state.json');
      return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { pid: number }).pid : undefined;
    },
  };
}

/** Access-log lines sent by bbox itself (not by a cache pulling on its behalf). */
export function fromBbox(lines: string[]): string[] {
  return lines.filter((l) => l.includes('oci-client-lite'));
}
