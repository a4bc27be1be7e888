import { Command } from 'clipanion';
import { RegistryCacheCommand } from './registry-cache-command.js';

/** `bbox registry-cache stop`: stops the cache processes; what they hold stays on disk. */
export class RegistryCacheStopCommand extends RegistryCacheCommand {
  static override paths = [['registry-cache', 'stop']];

  static override usage = Command.Usage({
    category: 'Registry cache',
    description: 'Stop the pull-through registry caches',
    details: `
      Stops the cache of each UPSTREAM (default: every cache there is). Their content stays; the next pull that needs one starts it again.

      \`--json\` prints [{upstream, pid}] (pid absent when it was not running).
    `,
    examples: [['Stop every cache', '$0 registry-cache stop']],
  });

  protected async perform(): Promise<number> {
    const caches = await this.caches();
    const stopped = await caches.stop(this.selected());
    this.print(stopped, stopped.map((s) => `${s.upstream}: ${s.pid ? `stopped (pid ${s.pid})` : 'not running'}\n`).join('') || 'No registry caches.\n');
    return 0;
  }
}
