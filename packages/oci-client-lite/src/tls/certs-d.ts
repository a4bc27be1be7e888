import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What one registry's certs.d directories hold. */
export interface CertsDirContent {
  /** CA certificates (PEM), from `*.crt` files. */
  ca: { file: string; pem: string }[];
  /** A client certificate and key, from a `*.cert` file and the `*.key` of the same name. */
  client?: { certFile: string; keyFile: string; cert: string; key: string };
}

/**
 * The certs.d roots, as docker, containerd and podman lay them out: `/etc/containers/certs.d`,
 * `/etc/docker/certs.d`, then `$XDG_CONFIG_HOME/broodbox/certs.d` (default ~/.config).
 */
export function defaultCertsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return ['/etc/containers/certs.d', '/etc/docker/certs.d', join(config, 'broodbox', 'certs.d')];
}

/** The per-user certs.d directory for a host (the last root), where messages tell a user to put a CA. */
export function userCertsDir(host: string, roots: string[]): string {
  return join(roots[roots.length - 1] ?? join(homedir(), '.config', 'broodbox', 'certs.d'), host);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/**
 * Reads `ROOT/HOST[:PORT]/` under every root: every `*.crt` is a CA; a `*.cert` with its `*.key`
 * is a client certificate (the first pair found wins, as with docker).
 */
export async function readCertsDirs(host: string, roots: string[]): Promise<CertsDirContent> {
  const out: CertsDirContent = { ca: [] };
  for (const root of roots) {
    const dir = join(root, host);
    const names = await listDir(dir);
    for (const name of names) {
      const file = join(dir, name);
      if (name.endsWith('.crt')) out.ca.push({ file, pem: await readFile(file, 'utf8') });
      else if (name.endsWith('.cert') && !out.client) {
        const keyFile = join(dir, `${name.slice(0, -'.cert'.length)}.key`);
        if (!names.includes(`${name.slice(0, -'.cert'.length)}.key`)) continue;
        out.client = { certFile: file, keyFile, cert: await readFile(file, 'utf8'), key: await readFile(keyFile, 'utf8') };
      }
    }
  }
  return out;
}
