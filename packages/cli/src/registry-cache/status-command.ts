import { Command } from 'clipanion';
import { formatBytes } from '../output/byte-size.js';
import { RegistryCacheCommand } from './registry-cache-command.js';

/** `bbox registry-cache status`: each cache's upstream, address, process, disk use and hits. */
export class RegistryCacheStatusCommand extends RegistryCacheCommand {
  static override paths = [['registry-cache', 'status'], ['registry-cache']];

  static override usage = Command.Usage({
    category: 'Registry cache',
    description: 'Show the pull-through registry caches',
    details: `
      One line per cache: the registry it stands in for, its loopback address while running, its process, the disk it uses and the blob downloads it answered from storage (hits) or fetched from the upstream (misses), counted from its own log. Nothing is started.

      \`--json\` prints {enabled, binary, caches: [{upstream, remoteUrl, configured, running, address, url, pid, startedAt, dir, diskBytes, hits: {hits, misses, bytesFromCache}}]}.
    `,
    examples: [
      ['Show the caches', '$0 registry-cache status'],
      ['Machine-readable', '$0 registry-cache status --json'],
    ],
  });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const caches = await this.caches();
    const only = this.selected();
    const all = (await caches.status()).filter((s) => !only || only.includes(s.upstream));
    const binary = caches.binary();
    const enabled = settings.registryCache.enabled;
    const rows = all.map((s) =>
      [s.upstream, s.running ? s.address! : 'stopped', s.running ? String(s.pid) : '-', formatBytes(s.diskBytes), String(s.hits.hits), String(s.hits.misses), s.remoteUrl ?? '(not configured)'],
    );
    const head = ['UPSTREAM', 'ADDRESS', 'PID', 'DISK', 'HITS', 'MISSES', 'REMOTE'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n';
    let text = rows.length ? line(head) + rows.map(line).join('') : 'No registry caches configured.\n';
    if (!enabled.value) text += `Registry caches are off (${enabled.source}).\n`;
    if (!binary) text += 'docker-registry is not installed: pulls go direct (apt-get install docker-registry).\n';
    this.print({ enabled: enabled.value, binary: binary ?? null, caches: all }, text);
    return 0;
  }
}
