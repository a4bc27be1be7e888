import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

const HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/**
 * True when the docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) names
 * credentials for `registry`: an `auths` entry (also the empty ones a credential store leaves) or a
 * `credHelpers` entry. Read without running any helper: only whether the user logged in matters.
 */
export async function hasRegistryLogin(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  let cfg: { auths?: Record<string, unknown>; credHelpers?: Record<string, unknown> };
  try {
    cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as typeof cfg;
  } catch {
    return false;
  }
  const names = registry === 'docker.io' ? HUB_ALIASES : [registry.toLowerCase()];
  const keys = [...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})].map(hostOfKey);
  return keys.some((k) => names.includes(k));
}
