import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerConfigError } from '../errors.js';
import { runCredentialHelper } from './credential-helper.js';

/** Registry credentials: a user and password, or an OAuth2 identity (refresh) token. */
export type Credentials = { username: string; password: string } | { identityToken: string } | { registryToken: string };

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const HUB_SERVER = 'https://index.docker.io/v1/';

/** The docker config directory: `dir`, else $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(dir?: string): string {
  return dir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function hostAliases(host: string): string[] {
  return host === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [host];
}

function entryCredentials(file: string, key: string, e: AuthEntry): Credentials | undefined {
  if (e.identitytoken) return { identityToken: e.identitytoken };
  if (e.registrytoken) return { registryToken: e.registrytoken };
  if (e.username && e.password !== undefined) return { username: e.username, password: e.password };
  if (!e.auth) return undefined;
  const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new DockerConfigError(file, `auths[${JSON.stringify(key)}].auth is not base64 of user:password`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Credentials from a docker config directory (`config.json`): `credHelpers` for the host, then
 * `credsStore`, then inline `auths` (`auth` base64 or `username`/`password`, identity tokens).
 */
export class DockerConfig {
  readonly file: string;
  private loaded?: Promise<ConfigFile>;

  constructor(dir?: string) {
    this.file = join(dockerConfigDir(dir), 'config.json');
  }

  private load(): Promise<ConfigFile> {
    this.loaded ??= readFile(this.file, 'utf8').then(
      (text) => {
        try {
          const v = JSON.parse(text) as unknown;
          if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
          return v as ConfigFile;
        } catch (e) {
          throw new DockerConfigError(this.file, `it is not valid JSON (${(e as Error).message})`);
        }
      },
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return {};
        throw new DockerConfigError(this.file, e.message);
      },
    );
    return this.loaded;
  }

  /** Credentials for a registry host (`docker.io`, `127.0.0.1:5000`), or undefined. */
  async credentialsFor(host: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    const cfg = await this.load();
    const aliases = hostAliases(host.toLowerCase());
    const server = host === 'docker.io' ? HUB_SERVER : host;
    const helper = aliases.map((a) => cfg.credHelpers?.[a]).find(Boolean);
    if (helper) return runCredentialHelper(helper, server, signal ? { signal } : {});
    const entry = Object.entries(cfg.auths ?? {}).find(([k]) => aliases.includes(hostOfKey(k)));
    if (cfg.credsStore) {
      const fromStore = await runCredentialHelper(cfg.credsStore, entry?.[0] ?? server, signal ? { signal } : {});
      if (fromStore) return fromStore;
    }
    return entry ? entryCredentials(this.file, entry[0], entry[1]) : undefined;
  }
}
