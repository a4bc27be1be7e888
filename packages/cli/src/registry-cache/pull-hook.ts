import type { PullOptions } from '@broodbox/image';
import { warn, type CommandIo } from '../output/command-io.js';
import type { Settings } from '../config/settings.js';
import { openRegistryCaches } from './caches.js';

/**
 * The pull option that puts the default registry caches in front of their upstreams, or nothing
 * when they are off. Nothing starts here: a cache starts on the pull's first request to its registry.
 */
export async function registryCacheOption(settings: Settings, io: CommandIo): Promise<Pick<PullOptions, 'registryCache'>> {
  if (!settings.registryCache.enabled.value) return {};
  const caches = await openRegistryCaches(settings, io.env);
  if (Object.keys(caches.upstreams).length === 0) return {};
  const { registryCacheHook } = await import('@broodbox/image/registry-cache');
  const hook = registryCacheHook(caches, {
    onWarning: (m) => warn(io, m),
    onHint: (m) => io.stderr.write(`bbox: hint: ${m}\n`),
    useWhenLoggedIn: settings.registryCache.useWhenLoggedIn,
    env: io.env,
  });
  return { registryCache: hook };
}
