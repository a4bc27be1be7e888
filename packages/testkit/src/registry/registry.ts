import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { freePort } from '../net/free-port.js';
import { writeHtpasswd } from './auth.js';
import { fileLog, memoryLog, type RegistryLog } from './registry-log.js';
import { TestkitError } from '../errors.js';

/**
 * How a harness registry authenticates clients. For `htpasswd`, give a ready file or `users`
 * (an htpasswd file is then written in the registry's work dir). A token server from
 * `startTokenServer()` can be passed as is.
 */
export type RegistryAuth =
  | { kind: 'htpasswd'; htpasswdFile?: string; users?: Record<string, string>; realm?: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

export interface RegistryOptions {
  /** Proxy (pull-through cache) mode in front of another registry. */
  proxy?: { remoteurl: string; username?: string; password?: string };
  auth?: RegistryAuth;
  /** Storage dir; a fresh temp dir (removed on stop) when absent. */
  dataDir?: string;
  /**
   * A file the registry appends its output (access log included) to, e.g. to count requests from
   * another process. Kept on stop. Without it the output is kept in memory.
   */
  logFile?: string;
  /**
   * Serve https with this certificate and key (PEM files); with `clientCas`, require a client
   * certificate signed by one of them.
   */
  tls?: { certificate: string; key: string; clientCas?: string[] };
}

/** A running CNCF distribution registry on 127.0.0.1. */
export interface Registry {
  /** `127.0.0.1:PORT`, usable as the registry part of a reference. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` (`https://` with the `tls` option). */
  url: string;
  dataDir: string;
  /** The `logFile` option, when given. */
  logFile?: string;
  /** Everything the registry printed (access log included; with `logFile`, its last 1 MB). */
  log(): string;
  stop(): Promise<void>;
}

function configYaml(port: number, dataDir: string, opts: RegistryOptions, htpasswdFile: string | undefined): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(dataDir)}`,
    '  delete:',
    '    enabled: true',
    // A test tampers with blobs on disk; no cache may hide that.
    '  cache:',
    '    blobdescriptor: ""',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (opts.tls) {
    lines.push('  tls:', `    certificate: ${JSON.stringify(opts.tls.certificate)}`, `    key: ${JSON.stringify(opts.tls.key)}`);
    if (opts.tls.clientCas?.length) lines.push('    clientcas:', ...opts.tls.clientCas.map((c) => `      - ${JSON.stringify(c)}`));
  }
  if (opts.proxy) {
    lines.push('proxy:', `  remoteurl: ${JSON.stringify(opts.proxy.remoteurl)}`);
    if (opts.proxy.username) lines.push(`  username: ${JSON.stringify(opts.proxy.username)}`);
    if (opts.proxy.password) lines.push(`  password: ${JSON.stringify(opts.proxy.password)}`);
  }
  const a = opts.auth;
  if (a?.kind === 'htpasswd') {
    lines.push('auth:', '  htpasswd:', `    realm: ${JSON.stringify(a.realm ?? 'bbox-test')}`, `    path: ${JSON.stringify(htpasswdFile)}`);
  } else if (a?.kind === 'token') {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(a.realm)}`,
      `    service: ${JSON.stringify(a.service)}`,
      `    issuer: ${JSON.stringify(a.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(a.rootCertBundle)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Raised when the registry options are inconsistent. */
export class RegistryOptionsError extends TestkitError<'BAD_REGISTRY_OPTIONS'> {
  constructor(message: string) {
    super('BAD_REGISTRY_OPTIONS', message);
  }
}

/** Raised when `docker-registry` does not come up (missing binary, bad config, port taken). */
export class RegistryStartError extends TestkitError<'REGISTRY_START_FAILED'> {
  constructor(message: string) {
    super('REGISTRY_START_FAILED', message);
  }
}

async function htpasswdFor(auth: RegistryAuth | undefined, work: string): Promise<string | undefined> {
  if (auth?.kind !== 'htpasswd') return undefined;
  if (auth.htpasswdFile) return auth.htpasswdFile;
  if (!auth.users) throw new RegistryOptionsError('htpasswd auth needs htpasswdFile or users: pass one of them');
  return writeHtpasswd(join(work, 'htpasswd'), auth.users);
}

function ping(url: string): Promise<number> {
  return new Promise((resolve) => {
    // Readiness only: whether the test's CA is trusted is what the tests themselves check.
    const send = url.startsWith('https:') ? httpsRequest : request;
    const req = send(`${url}/v2/`, { method: 'GET', timeout: 1000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // -1: it answered the TLS handshake, then refused us (no client certificate): it is up.
    req.on('error', (e: NodeJS.ErrnoException) => resolve(/^ERR_SSL_|^ECONNRESET$/.test(e.code ?? '') ? -1 : 0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string, opts: RegistryOptions): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new RegistryStartError(`docker-registry exited early (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const status = await ping(url);
    // 401 means it is up and asking for credentials.
    if (status === 200 || status === 401 || (status === -1 && opts.tls?.clientCas)) return;
    if (Date.now() > deadline) throw new RegistryStartError(`docker-registry did not answer on ${url} within 20 s:\n${log()}`);
    // Poll: the registry has no readiness signal other than answering.
    await new Promise((r) => setTimeout(r, 50));
  }
}

function scheme(opts: RegistryOptions): 'http' | 'https' {
  return opts.tls ? 'https' : 'http';
}

interface Launched {
  child: ChildProcess;
  port: number;
  log: RegistryLog;
}

async function launch(work: string, dataDir: string, opts: RegistryOptions, htpasswd: string | undefined): Promise<Launched> {
  const port = await freePort();
  const cfg = join(work, 'config.yml');
  await writeFile(cfg, configYaml(port, dataDir, opts, htpasswd));
  const log = opts.logFile ? await fileLog(opts.logFile) : memoryLog();
  const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', log.stdio, log.stdio] });
  log.attach(child);
  const exited = new Promise((r) => child.once('exit', r));
  const spawnErr = new Promise<never>((_, reject) => child.on('error', reject));
  try {
    await Promise.race([waitReady(`${scheme(opts)}://127.0.0.1:${port}`, child, () => log.read(), opts), spawnErr]);
  } catch (err) {
    child.kill('SIGKILL');
    // A child that never started emits 'error' and no 'exit'.
    if (child.pid !== undefined) await exited;
    await log.close();
    throw err;
  }
  return { child, port, log };
}

/**
 * Starts `docker-registry serve` (CNCF distribution) on a free loopback port with a temp
 * storage dir. Call `stop()` when done (tests: `t.teardown(() => reg.stop())`).
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const work = await mkdtemp(join(tmpdir(), 'bbox-registry-'));
  const dataDir = opts.dataDir ?? join(work, 'data');
  let launched: Launched | undefined;
  try {
    const htpasswd = await htpasswdFor(opts.auth, work);
    // Another process may grab the probed port before the registry binds it: try a new one.
    for (let attempt = 1; !launched; attempt++) {
      launched = await launch(work, dataDir, opts, htpasswd).catch((err: Error) => {
        if (attempt < 4 && /address already in use/.test(err.message)) return undefined;
        throw err;
      });
    }
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  const { child, port, log } = launched;
  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `${scheme(opts)}://127.0.0.1:${port}`,
    dataDir,
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
    log: () => log.read(),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await log.close();
      // The work dir holds the config (and the storage unless dataDir was given).
      await rm(work, { recursive: true, force: true });
    },
  };
}
