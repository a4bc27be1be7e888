import { Command } from 'clipanion';
import { RegistryCacheCommand } from './registry-cache-command.js';

/** `bbox registry-cache start`: starts (or adopts) the caches now instead of on the first pull. */
export class RegistryCacheStartCommand extends RegistryCacheCommand {
  static override paths = [['registry-cache', 'start']];

  static override usage = Command.Usage({
    category: 'Registry cache',
    description: 'Start the pull-through registry caches',
    details: `
      Starts the cache of each UPSTREAM (default: every configured one) on a loopback port, detached, unless it already runs. Pulls start them on demand anyway; this is for other tools and VMs that use them (see docs/mirrors.md).

      \`--json\` prints [{upstream, url, pid, remoteUrl}].
    `,
    examples: [
      ['Start every cache', '$0 registry-cache start'],
      ['Start the Docker Hub cache', '$0 registry-cache start docker.io'],
    ],
  });

  protected async perform(): Promise<number> {
    const caches = await this.caches({ mustBeEnabled: true });
    if (!caches.binary()) {
      const { RegistryCacheError } = await import('@broodbox/image/registry-cache');
      throw new RegistryCacheError('REGISTRY_CACHE_NO_BINARY', 'docker-registry is not installed (looked on PATH and in /usr/bin); install it with apt-get install docker-registry');
    }
    const started = [];
    for (const upstream of this.selected() ?? Object.keys(caches.upstreams)) {
      const c = await caches.ensure(upstream);
      started.push({ upstream, url: c.url, pid: c.pid, remoteUrl: c.remoteUrl });
    }
    this.print(started, started.map((s) => `${s.upstream}: ${s.url} (pid ${s.pid}) → ${s.remoteUrl}\n`).join('') || 'No registry caches configured.\n');
    return 0;
  }
}
