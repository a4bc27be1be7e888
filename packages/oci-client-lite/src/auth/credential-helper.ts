import { CredentialHelperError } from '../errors.js';
import type { Credentials } from './docker-config.js';

const NAME_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Runs `docker-credential-<name> get` with the server on stdin, as Docker does. Returns undefined
 * when the helper has no credentials for that server.
 */
export async function runCredentialHelper(name: string, server: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Credentials | undefined> {
  if (!NAME_RE.test(name)) throw new CredentialHelperError(name, server, 'the helper name has characters a program name cannot have');
  // Loaded here: most pulls never run a helper, and child_process is costly to load at start-up.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, ['get'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const ms = opts.timeoutMs ?? 30_000;
    // Own timer: spawn's `timeout` option keeps a timer alive when the program does not exist.
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    timer.unref();
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(opts.signal?.aborted ? opts.signal.reason : new CredentialHelperError(name, server, e.message));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (sig === 'SIGKILL' && !opts.signal?.aborted) return reject(new CredentialHelperError(name, server, `no answer within ${ms} ms`));
      if (code !== 0) {
        if (/credentials not found/i.test(out + err)) return resolve(undefined);
        return reject(new CredentialHelperError(name, server, `exited with ${code}: ${(out + err).trim().slice(0, 300)}`));
      }
      try {
        resolve(helperCredentials(JSON.parse(out)));
      } catch {
        reject(new CredentialHelperError(name, server, 'its output is not the JSON {"Username","Secret"} it should print'));
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(server);
  });
}

function helperCredentials(v: unknown): Credentials | undefined {
  const o = v as { Username?: unknown; Secret?: unknown };
  if (typeof o?.Secret !== 'string') throw new Error('no Secret');
  if (o.Username === '<token>') return { identityToken: o.Secret };
  if (typeof o.Username !== 'string') throw new Error('no Username');
  return { username: o.Username, password: o.Secret };
}
