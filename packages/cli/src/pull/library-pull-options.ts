import type { Cache, PullOptions } from '@broodbox/image';
import type { Settings } from '../config/settings.js';

/** The library's pull options that a command's resolved settings amount to (pull and run alike). */
export function pullOptionsFrom(settings: Settings, cache: Cache, signal: AbortSignal): PullOptions {
  return {
    cache,
    policy: settings.pull.value,
    ...(settings.platform ? { platform: settings.platform.value } : {}),
    registries: settings.registries,
    noRegistryCache: settings.noRegistryCache.value,
    network: {
      ...(settings.proxy ? { proxy: settings.proxy } : {}),
      onWarning: (message: string) => process.stderr.write(`bbox: warning: ${message}\n`),
    },
    signal,
  };
}
