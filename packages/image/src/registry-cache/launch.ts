import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { cacheConfigYaml } from './config-file.js';
import { RegistryCacheError } from './errors.js';
import { probeCache } from './health.js';
import type { CacheFiles } from './layout.js';
import { newNonce, type CacheState } from './state.js';

const READY_TIMEOUT_MS = 15_000;
const LOG_ROTATE_BYTES = 16 * 1024 * 1024;

/** A free loopback port: `preferred` when it can be bound (a cache keeps its address across restarts), else any. */
async function freePort(preferred: number | undefined): Promise<number> {
  const tryPort = async (port: number): Promise<number | undefined> => {
    const srv = createServer();
    srv.listen(port, '127.0.0.1');
    try {
      await Promise.race([once(srv, 'listening'), once(srv, 'error').then(([e]) => Promise.reject(e as Error))]);
    } catch {
      return undefined;
    }
    const got = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    return got;
  };
  return (preferred ? await tryPort(preferred) : undefined) ?? (await tryPort(0))!;
}

/** Keeps the log bounded: past 16 MB it becomes `registry.log.1` (hit counts read both). */
async function rotateLog(log: string): Promise<void> {
  const size = await stat(log).then((s) => s.size, () => 0);
  if (size > LOG_ROTATE_BYTES) await rename(log, `${log}.1`);
}

async function logTail(log: string, from: number): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const lines = text.slice(from).split('\n').filter((l) => /level=(error|fatal|panic)|exit|error/i.test(l));
  return lines.slice(-3).join('\n').slice(0, 600);
}

interface Started {
  state: CacheState;
  exited: Promise<unknown>;
}

/** Spawns one detached `docker-registry serve` and waits until it answers with its nonce. */
async function spawnOnce(binary: string, files: CacheFiles, upstream: string, remoteUrl: string, port: number): Promise<Started> {
  const nonce = newNonce();
  await writeFile(files.config, cacheConfigYaml({ port, dataDir: files.data, remoteUrl, nonce }), { mode: 0o600 });
  await rotateLog(files.log);
  const logStart = await stat(files.log).then((s) => s.size, () => 0);
  const log = await open(files.log, 'a', 0o600);
  // The shell sets a private umask and then becomes the registry (same pid), so everything the
  // cache writes is 0600/0700; detached, in a session of its own, it outlives this process.
  const child = spawn('/bin/sh', ['-c', 'umask 077; exec "$0" serve "$1"', binary, files.config], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const exited = new Promise((r) => child.once('exit', r));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  child.unref();
  const state: CacheState = { upstream, remoteUrl, pid: child.pid ?? 0, port, nonce, startedAt: new Date().toISOString() };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    const probe = await Promise.race([probeCache(port, nonce, 1000), spawnError]);
    if (probe === 'ours') return { state, exited };
    if (gone || Date.now() > deadline) {
      if (!gone) child.kill('SIGKILL');
      const why = gone ? 'exited at start' : `did not answer within ${READY_TIMEOUT_MS / 1000} s`;
      throw new RegistryCacheError('REGISTRY_CACHE_START_FAILED', `the registry cache for ${upstream} ${why}${await logTail(files.log, logStart).then((t) => (t ? `: ${t}` : ''))}`);
    }
    // The registry has no readiness signal but answering; poll it.
    await delay(50);
  }
}

/**
 * Starts the cache of `upstream` on loopback, on `preferredPort` when free. Another process may
 * take a probed port before the registry binds it: then a new port is tried.
 */
export async function launchCache(binary: string, files: CacheFiles, upstream: string, remoteUrl: string, preferredPort?: number): Promise<CacheState> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(attempt === 0 ? preferredPort : undefined);
    try {
      return (await spawnOnce(binary, files, upstream, remoteUrl, port)).state;
    } catch (err) {
      lastError = err;
      if (!/address already in use/.test((err as Error).message)) break;
    }
  }
  throw lastError instanceof RegistryCacheError ? lastError : new RegistryCacheError('REGISTRY_CACHE_START_FAILED', `the registry cache for ${upstream} could not start: ${(lastError as Error).message}`, { cause: lastError });
}
