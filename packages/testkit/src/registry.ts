import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { freePort } from './free-port.js';

/** How a harness registry authenticates clients. */
export type RegistryAuth =
  | { kind: 'htpasswd'; htpasswdFile: string; realm?: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

export interface RegistryOptions {
  /** Proxy (pull-through cache) mode in front of another registry. */
  proxy?: { remoteurl: string; username?: string; password?: string };
  auth?: RegistryAuth;
  /** Storage dir; a fresh temp dir (removed on stop) when absent. */
  dataDir?: string;
}

/** A running CNCF distribution registry on 127.0.0.1. */
export interface Registry {
  /** `127.0.0.1:PORT`, usable as the registry part of a reference. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  dataDir: string;
  /** Everything the registry printed (access log included). */
  log(): string;
  stop(): Promise<void>;
}

function configYaml(port: number, dataDir: string, opts: RegistryOptions): string {
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
  if (opts.proxy) {
    lines.push('proxy:', `  remoteurl: ${JSON.stringify(opts.proxy.remoteurl)}`);
    if (opts.proxy.username) lines.push(`  username: ${JSON.stringify(opts.proxy.username)}`);
    if (opts.proxy.password) lines.push(`  password: ${JSON.stringify(opts.proxy.password)}`);
  }
  const a = opts.auth;
  if (a?.kind === 'htpasswd') {
    lines.push('auth:', '  htpasswd:', `    realm: ${JSON.stringify(a.realm ?? 'bbox-test')}`, `    path: ${JSON.stringify(a.htpasswdFile)}`);
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

function ping(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/v2/`, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early (code ${child.exitCode}):\n${log()}`);
    const status = await ping(url);
    // 401 means it is up and asking for credentials.
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url} within 20 s:\n${log()}`);
    // Poll: the registry has no readiness signal other than answering.
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `docker-registry serve` (CNCF distribution) on a free loopback port with a temp
 * storage dir. Call `stop()` when done (tests: `t.teardown(() => reg.stop())`).
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const port = await freePort();
  const ownDir = !opts.dataDir;
  const work = await mkdtemp(join(tmpdir(), 'bbox-registry-'));
  const dataDir = opts.dataDir ?? join(work, 'data');
  const cfg = join(work, 'config.yml');
  await writeFile(cfg, configYaml(port, dataDir, opts));
  const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawnErr = new Promise<never>((_, reject) => child.on('error', reject));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitReady(url, child, () => out), spawnErr]);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url,
    dataDir,
    log: () => out,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(ownDir ? work : cfg, { recursive: true, force: true });
    },
  };
}
