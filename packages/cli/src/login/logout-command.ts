import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { registryHostArg } from './registry-host.js';

/** `bbox logout`: removes a registry's stored credentials. */
export class LogoutCommand extends BboxCommand {
  static override paths = [['logout']];

  static override usage = Command.Usage({
    category: 'Registries',
    description: 'Remove the stored credentials of a registry',
    details: `
      Removes the registry's entry from the docker config ($DOCKER_CONFIG/config.json, default ~/.docker/config.json) and from its credential helper when one is configured. Credentials in the containers auth.json files are left alone (podman logout removes those).
    `,
    examples: [['Log out', '$0 logout registry.example.com']],
  });

  registry = Option.String({ name: 'REGISTRY' });

  protected async perform(): Promise<number> {
    const host = registryHostArg(this.registry);
    const { eraseCredentials } = await import('oci-client-lite');
    const removed = await eraseCredentials(host);
    this.context.stdout.write(removed ? `Removed the credentials for ${host}\n` : `Not logged in to ${host}\n`);
    return 0;
  }
}
