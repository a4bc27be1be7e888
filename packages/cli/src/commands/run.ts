import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { runRun } from '../run-action.js';

/** `bbox run`: pulls an image (under the pull policy) and runs a command in it in a microVM. */
export class RunCommand extends BboxCommand {
  static override paths = [['run']];

  static override usage = Command.Usage({
    description: 'Run a command from an image in a microVM',
    details: `
      Pulls REF under the pull policy (\`background\` starts from the cache and refreshes while the VM runs), boots it in a QEMU microVM on a copy-on-write disk (the cached image is never changed), and runs the image's entrypoint and command, or CMD ARG… given after \`--\`.

      The command's exit code becomes bbox's exit code. Ctrl-C and \`--timeout\` stop the VM and clean up.

      Defaults for \`--cpus\`, \`--memory\` and \`--accel\` come from the \`vm\` section of the config.
    `,
    examples: [
      ['Run the image default command', '$0 run alpine:3.20'],
      ['Run a command', "$0 run alpine:3.20 -- sh -c 'echo hello; exit 7'"],
      ['Environment, working directory and user', '$0 run -e DEBUG=1 --workdir /srv --user 1000:1000 app:1.0'],
      ['Share a directory read-only', '$0 run -v ./data:/data:ro alpine:3.20 -- ls /data'],
      ['More resources, a time limit, and the network', '$0 run --cpus 2 --memory 1024 --timeout 5m --net debian:12 -- apt-get update'],
    ],
  });

  pull = Option.String('--pull', { description: 'Pull policy: if-not-present (default), always, never, background, max-age=<duration>' });
  noRegistryCache = Option.Boolean('--no-registry-cache', false, { description: 'Bypass configured registry mirrors for this pull' });
  cpus = Option.String('--cpus', { description: 'Virtual CPUs (default: vm.cpus from config, else the VM layer default)' });
  memory = Option.String('--memory', { description: 'Memory in MiB (default: vm.memory from config, else the VM layer default)' });
  env = Option.Array('-e,--env', { description: 'Set an environment variable: KEY=VALUE, or KEY to pass this shell value' });
  workdir = Option.String('-w,--workdir', { description: 'Working directory in the guest (default: the image WorkingDir)' });
  user = Option.String('-u,--user', { description: 'User in the guest: name, uid or uid:gid (default: the image User)' });
  timeout = Option.String('--timeout', { description: 'Stop the VM after this long: seconds, or 90s / 5m / 1h' });
  accel = Option.String('--accel', { description: 'Accelerator: auto (KVM when it works, else TCG), kvm, tcg' });
  volumes = Option.Array('-v,--volume', { description: 'Share a host directory: HOST:GUEST[:ro]' });
  net = Option.Boolean('--net', false, { description: 'Give the guest user-mode networking' });
  ref = Option.String({ name: 'REF' });
  command = Option.Rest({ name: 'CMD' });

  protected async perform(): Promise<number> {
    return runRun(
      {
        ref: this.ref,
        command: this.command,
        cpus: this.cpus,
        memory: this.memory,
        env: this.env,
        workdir: this.workdir,
        user: this.user,
        timeout: this.timeout,
        accel: this.accel,
        volumes: this.volumes,
        net: this.net,
        pull: this.pull,
        noRegistryCache: this.noRegistryCache,
        config: this.configFile,
        cacheDir: this.cacheDir,
      },
      this.io(),
    );
  }
}
