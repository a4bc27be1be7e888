import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { TestkitError } from '../errors.js';

/** Options of {@link startForwardProxy}. */
export interface ForwardProxyOptions {
  /** Ports the proxy may open CONNECT tunnels to (tinyproxy refuses others). */
  connectPorts: number[];
  /** Proxy credentials (tinyproxy BasicAuth); without them, any local client may use it. */
  user?: { name: string; password: string };
  /**
   * Host names the proxy resolves, each to a 127.x address: written to an /etc/hosts seen by the
   * proxy alone (bind-mounted in its own mount namespace; needs root).
   */
  hosts?: Record<string, string>;
}

/** A running tinyproxy on 127.0.0.1. */
export interface ForwardProxy {
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  port: number;
  /** `http://user:password@127.0.0.1:PORT` with the configured credentials, else `url`. */
  urlWithCredentials: string;
  /** Requests it has received so far (`CONNECT host:port` and absolute-form `GET http://…`), from its log. */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Raised when tinyproxy does not come up or a mapping is not loopback. */
export class ForwardProxyError extends TestkitError<'FORWARD_PROXY_FAILED'> {
  constructor(message: string) {
    super('FORWARD_PROXY_FAILED', message);
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function configText(o: ForwardProxyOptions, port: number, logFile: string): string {
  const lines = [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', `LogFile "${logFile}"`, 'LogLevel Info', 'MaxClients 64', 'Allow 127.0.0.1', 'DisableViaHeader Yes'];
  for (const p of o.connectPorts) lines.push(`ConnectPort ${p}`);
  if (o.user) lines.push(`BasicAuth ${o.user.name} ${o.user.password}`);
  return lines.join('\n') + '\n';
}

/**
 * Starts Debian's tinyproxy as a forward proxy on a free loopback port, with its own config and
 * log (read to count requests). With `hosts`, it runs in a private mount namespace whose
 * /etc/hosts maps those names to loopback addresses, so nothing outside the test changes.
 */
export async function startForwardProxy(o: ForwardProxyOptions): Promise<ForwardProxy> {
  for (const [name, ip] of Object.entries(o.hosts ?? {})) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw new ForwardProxyError(`${name} maps to ${ip}: only 127.x addresses are allowed`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'bbox-tinyproxy-'));
  const port = await freePort();
  const conf = join(dir, 'tinyproxy.conf');
  const logFile = join(dir, 'tinyproxy.log');
  await writeFile(conf, configText(o, port, logFile));
  await writeFile(logFile, '');
  let child: ChildProcess;
  if (o.hosts) {
    const hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, ['127.0.0.1 localhost', ...Object.entries(o.hosts).map(([n, ip]) => `${ip} ${n}`)].join('\n') + '\n');
    child = spawn('unshare', ['--mount', 'sh', '-c', 'mount --bind "$1" /etc/hosts && exec tinyproxy -d -c "$2"', 'sh', hostsFile, conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  try {
    // Polls the port: tinyproxy has no readiness signal other than accepting connections.
    while (!(await listening(port))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new ForwardProxyError(`tinyproxy exited early: ${stderr}${await readFile(logFile, 'utf8')}`);
      if (Date.now() > deadline) throw new ForwardProxyError(`tinyproxy did not listen on ${port} within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  return {
    url,
    port,
    urlWithCredentials: o.user ? `http://${encodeURIComponent(o.user.name)}:${encodeURIComponent(o.user.password)}@127.0.0.1:${port}` : url,
    async requests() {
      const text = await readFile(logFile, 'utf8');
      return [...text.matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((m) => (m[1] ?? '').trim());
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
