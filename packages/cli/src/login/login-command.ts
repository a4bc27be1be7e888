import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import { UsageError } from '../output/errors.js';
import { registryHostArg } from './registry-host.js';
import { promptLine, promptSecret, readAllStdin } from '../output/secret-prompt.js';

/** `bbox login`: checks credentials against a registry, then stores them as docker does. */
export class LoginCommand extends BboxCommand {
  static override paths = [['login']];

  static override usage = Command.Usage({
    category: 'Registries',
    description: 'Log in to a registry',
    details: `
      Checks the user name and password against the registry (basic auth, or a token from its token server), then stores them in the docker config ($DOCKER_CONFIG/config.json, default ~/.docker/config.json, mode 0600), or in its credential helper when \`credHelpers\` or \`credsStore\` names one.

      Without \`--password-stdin\`, the password is asked on the terminal without echo. TLS and proxy settings from the config apply.
    `,
    examples: [
      ['Log in, asked for the password', '$0 login -u alice registry.example.com'],
      ['From a script', 'printf %s "$TOKEN" | $0 login -u ci --password-stdin ghcr.io'],
    ],
  });

  username = stringOption({ names: '-u,--username', kind: 'string', label: 'USER', description: 'User name (asked on the terminal when not given)' });
  passwordStdin = switchOption({ names: '--password-stdin', kind: 'boolean', description: 'Read the password from stdin' });
  registry = Option.String({ name: 'REGISTRY' });

  protected async perform(): Promise<number> {
    const host = registryHostArg(this.registry);
    const stdin = this.context.stdin as NodeJS.ReadStream;
    const tty = stdin.isTTY === true;
    if (!this.username && (this.passwordStdin || !tty)) throw new UsageError('give the user name with -u USER', 'bbox login -u USER --password-stdin REGISTRY');
    if (!this.passwordStdin && !tty) throw new UsageError('stdin is not a terminal, so the password cannot be asked; pipe it in with --password-stdin');
    const username = this.username ?? (await promptLine(stdin, this.context.stderr, 'Username: '));
    const password = this.passwordStdin ? await readAllStdin(stdin) : await promptSecret(stdin, this.context.stderr, 'Password: ');
    if (!username || !password) throw new UsageError('the user name and the password must not be empty');
    const settings = await this.settings();
    const { RegistryClient, storeCredentials } = await import('oci-client-lite');
    const client = new RegistryClient({
      registries: settings.registries,
      ...(settings.proxy ? { proxy: settings.proxy } : {}),
      onWarning: (m) => this.warn(m),
    });
    try {
      await client.checkCredentials(host, { username, password });
    } finally {
      client.close();
    }
    const stored = await storeCredentials(host, { username, password });
    this.context.stdout.write(`Login Succeeded: credentials for ${host} stored in ${stored.place}\n`);
    return 0;
  }
}
