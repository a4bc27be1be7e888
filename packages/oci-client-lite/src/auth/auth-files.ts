import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './docker-config.js';
import { DockerConfigError } from '../errors.js';

/**
 * The containers (podman, skopeo, buildah) auth files, in the order they are read:
 * `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, then
 * `$XDG_CONFIG_HOME/containers/auth.json` (default ~/.config).
 */
export function containersAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers', 'auth.json'));
  return files;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
}

async function load(file: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new DockerConfigError(file, (e as Error).message);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as AuthFile;
  } catch (e) {
    throw new DockerConfigError(file, `it is not valid JSON (${(e as Error).message})`);
  }
}

/** `host` or `host/namespace…`, with any scheme removed, lower case. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function decode(file: string, key: string, entry: { auth?: string; identitytoken?: string }): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (!entry.auth) return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw new DockerConfigError(file, `auths[${JSON.stringify(key)}].auth is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Credentials for a registry host from the containers auth files (see {@link containersAuthFiles}):
 * the first file with an entry for the host wins. Entries for `host/namespace` count for the host.
 */
export class ContainersAuth {
  private readonly files: string[];
  private loaded?: Promise<(AuthFile | undefined)[]>;

  constructor(files?: string[]) {
    this.files = files ?? containersAuthFiles();
  }

  async credentialsFor(host: string): Promise<Credentials | undefined> {
    this.loaded ??= Promise.all(this.files.map(load));
    const docs = await this.loaded;
    const want = host.toLowerCase();
    const aliases = want === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [want];
    for (const [i, doc] of docs.entries()) {
      const entry = Object.entries(doc?.auths ?? {}).find(([k]) => aliases.includes(keyHost(k)));
      if (entry) return decode(this.files[i] ?? '', entry[0], entry[1]);
    }
    return undefined;
  }
}
