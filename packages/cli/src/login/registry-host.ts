import { UsageError } from '../output/errors.js';

const HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'docker.io']);

/**
 * The registry host a user typed for login/logout: a host[:port], possibly written as a URL
 * (`https://ghcr.io/v2/`) or with a repository path; Docker Hub's names become `docker.io`.
 */
export function registryHostArg(text: string): string {
  const bare = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (!/^[a-z0-9.-]+(:\d+)?$|^\[[0-9a-f:]+\](:\d+)?$/.test(bare)) {
    throw new UsageError(`${JSON.stringify(text)} is not a registry host; give host[:port], e.g. ghcr.io or 127.0.0.1:5000`);
  }
  return HUB_ALIASES.has(bare) ? 'docker.io' : bare;
}
