import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dockerConfigDir } from './docker-config.js';
import { CredentialHelperError, DockerConfigError } from '../errors.js';

const HUB_SERVER = 'https://index.docker.io/v1/';
const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** Where {@link storeCredentials} put the credentials. */
export interface StoredIn {
  /** The docker config file, or `docker-credential-<helper>`. */
  place: string;
  /** True when a credential helper holds them. */
  helper: boolean;
}

/** The key docker uses for a registry host in `auths` and helpers. */
export function serverKey(host: string): string {
  return host === 'docker.io' ? HUB_SERVER : host;
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

async function readConfig(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DockerConfigError(file, (e as Error).message);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new DockerConfigError(file, `it is not valid JSON (${(e as Error).message}); fix it before logging in`);
  }
}

/** Writes `file` whole or not at all (temp file, mode 0600, fsync, rename). */
async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(file), `.${randomBytes(6).toString('hex')}.config.json.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Runs `docker-credential-<name> <action>` with `input` on stdin. */
async function helper(name: string, action: 'store' | 'erase', input: string, server: string): Promise<void> {
  if (!NAME_RE.test(name)) throw new CredentialHelperError(name, server, 'the helper name has characters a program name cannot have');
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (e) => reject(new CredentialHelperError(name, server, e.message)));
    child.on('close', (code) => {
      if (code === 0 || (action === 'erase' && /not found/i.test(out))) return resolve();
      reject(new CredentialHelperError(name, server, `${action} exited with ${code}: ${out.trim().slice(0, 300)}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

function helperFor(cfg: Record<string, unknown>, host: string): string | undefined {
  const helpers = (cfg.credHelpers ?? {}) as Record<string, string>;
  const aliases = host === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [host];
  return aliases.map((a) => helpers[a]).find(Boolean) ?? (typeof cfg.credsStore === 'string' && cfg.credsStore ? cfg.credsStore : undefined);
}

/**
 * Saves a user name and password for a registry as `docker login` does: with the host's
 * `credHelpers` entry or the `credsStore` helper when the docker config names one, else inline in
 * `auths` (base64). The config file is rewritten atomically with mode 0600.
 */
export async function storeCredentials(host: string, creds: { username: string; password: string }, opts: { dockerConfigDir?: string } = {}): Promise<StoredIn> {
  const file = join(dockerConfigDir(opts.dockerConfigDir), 'config.json');
  const cfg = await readConfig(file);
  const server = serverKey(host);
  const auths = { ...((cfg.auths ?? {}) as Record<string, unknown>) };
  for (const k of Object.keys(auths)) if (hostOfKey(k) === hostOfKey(server)) delete auths[k];
  const name = helperFor(cfg, host);
  if (name) {
    await helper(name, 'store', JSON.stringify({ ServerURL: server, Username: creds.username, Secret: creds.password }), server);
    // docker keeps an empty entry so that `docker info` lists the registry; the secret is in the helper.
    auths[server] = {};
    await writeAtomic(file, JSON.stringify({ ...cfg, auths }, null, '\t') + '\n');
    return { place: `docker-credential-${name}`, helper: true };
  }
  auths[server] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  await writeAtomic(file, JSON.stringify({ ...cfg, auths }, null, '\t') + '\n');
  return { place: file, helper: false };
}

/**
 * Removes a registry's credentials: from its helper (or `credsStore`) and from `auths`.
 * @returns false when there was nothing to remove.
 */
export async function eraseCredentials(host: string, opts: { dockerConfigDir?: string } = {}): Promise<boolean> {
  const file = join(dockerConfigDir(opts.dockerConfigDir), 'config.json');
  const cfg = await readConfig(file);
  const server = serverKey(host);
  const auths = { ...((cfg.auths ?? {}) as Record<string, unknown>) };
  const keys = Object.keys(auths).filter((k) => hostOfKey(k) === hostOfKey(server));
  const name = helperFor(cfg, host);
  if (name) await helper(name, 'erase', server, server);
  if (keys.length === 0) return name !== undefined;
  for (const k of keys) delete auths[k];
  await writeAtomic(file, JSON.stringify({ ...cfg, auths }, null, '\t') + '\n');
  return true;
}
