import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { arrayOption, stringOption, switchOption } from '../command-line/clipanion-options.js';
import { runRun } from './action.js';

/** `bbox run`: pulls an image (under the pull policy) and runs a command in it in a microVM. */
export class RunCommand extends BboxCommand {
  static override paths = [['run']];

  static override usage = Command.Usage({
    description: 'Run a command from an image in a microVM',
    details: `
      Pulls REF under the pull policy (\`background\` starts from the cache and refreshes while the VM runs), boots it in a QEMU microVM on a copy-on-write root (the cached tree itself, shared read-only over virtio-fs; the guest's writes, up to 8 GiB, go to a throwaway layer and vanish with it: the cached image is never changed), and runs the image's entrypoint and command, or CMD ARG… given after \`--\`.

      The command's exit code becomes bbox's exit code. SIGINT and SIGTERM sent to bbox are passed on to the command (a command they kill exits 128+N); a second one stops the VM. Under \`-it\`, Ctrl-C is a keystroke for the guest instead. \`--timeout\` stops the VM and exits 124.

      \`-i\` connects this stdin to the command (its end is the command's end of file); without it the command's stdin is empty. \`-t\` gives the command a terminal in the guest: this terminal is put in raw mode (Ctrl-C, Ctrl-Z and Ctrl-D act in the guest), the window size follows this one, stdout and stderr arrive together, and the terminal is restored when bbox exits. \`-it\` needs stdin to be a terminal: otherwise bbox refuses, as docker does ("the input device is not a TTY").

      \`--no-image-cache\` pulls the image into a temporary directory that is removed after the run: the cache is neither read nor written (also config key image.noImageCache). It cannot go with \`--pull never\`. \`--platform\` picks the image's platform; one this host cannot run (guests are linux/amd64) is refused before any pull.

      Defaults for \`--cpus\`, \`--memory\` and \`--accel\` come from the \`vm\` section of the config. Where virtiofsd cannot run (not installed; without root, no user namespaces), the root is an ext4 copy of the image built once per image instead; BBOX_VM_ROOT=disk asks for that, BBOX_VM_ROOT=share refuses to fall back.

      Without root the guest still sees the image's owners and modes. KVM needs access to /dev/kvm (the \`kvm\` group), else TCG is used; \`-v\` needs the uidmap package and a range in /etc/subuid and /etc/subgid (see docs/vm.md, "Running without root").
    `,
    examples: [
      ['Run the image default command', '$0 run alpine:3.20'],
      ['Run a command', "$0 run alpine:3.20 -- sh -c 'echo hello; exit 7'"],
      ['An interactive shell on a terminal', '$0 run -it debian:12 -- bash'],
      ['Feed the command this stdin', "printf 'a\\nb\\n' | $0 run -i alpine:3.20 -- wc -l"],
      ['Leave the image cache untouched', '$0 run --no-image-cache alpine:3.20 -- cat /etc/os-release'],
      ['Pick the platform', '$0 run --platform linux/amd64 alpine:3.20 -- uname -m'],
      ['Environment, working directory and user', '$0 run -e DEBUG=1 --workdir /srv --user 1000:1000 app:1.0'],
      ['Share a directory read-only', '$0 run -v ./data:/data:ro alpine:3.20 -- ls /data'],
      ['More resources, a time limit, and the network', '$0 run --cpus 2 --memory 1024 --timeout 5m --net debian:12 -- apt-get update'],
    ],
  });

  // Each option is declared here once; RunFlags below is these fields' types.
  pull = stringOption({ names: '--pull', kind: 'string', label: 'POLICY', description: 'Pull policy: if-not-present (default), always, never, background, max-age=<duration>' });
  noRegistryCache = switchOption({ names: '--no-registry-cache', kind: 'boolean', description: 'Bypass the registry caches and configured mirrors for this pull (also BBOX_DISABLE_REGISTRY_CACHE=true)' });
  noImageCache = switchOption({
    names: '--no-image-cache',
    kind: 'boolean',
    description: 'Pull into a temporary directory removed after the run: the cache is neither read nor written (config image.noImageCache)',
  });
  platform = stringOption({
    names: '--platform',
    kind: 'string',
    label: 'OS/ARCH[/VARIANT]',
    description: 'Image platform (default: image.platform from config, else this host); one this host cannot run is refused before any pull',
  });
  interactive = switchOption({ names: '-i,--interactive', kind: 'boolean', description: "Connect this stdin to the command's stdin" });
  tty = switchOption({ names: '-t,--tty', kind: 'boolean', description: 'Run the command on a terminal in the guest (with -i, this terminal goes raw)' });
  cpus = stringOption({ names: '--cpus', kind: 'string', label: 'N', description: 'Virtual CPUs (default: vm.cpus from config, else the VM layer default)' });
  memory = stringOption({ names: '--memory', kind: 'string', label: 'MiB', description: 'Memory in MiB (default: vm.memory from config, else the VM layer default)' });
  env = arrayOption({ names: '-e,--env', kind: 'array', label: 'KEY=VALUE', description: 'Set an environment variable: KEY=VALUE, or KEY to pass this shell value' });
  workdir = stringOption({ names: '-w,--workdir', kind: 'string', label: 'DIR', description: 'Working directory in the guest (default: the image WorkingDir)' });
  user = stringOption({ names: '-u,--user', kind: 'string', label: 'USER', description: 'User in the guest: name, uid or uid:gid (default: the image User)' });
  timeout = stringOption({ names: '--timeout', kind: 'string', label: 'DURATION', description: 'Stop the VM after this long: seconds, or 90s / 5m / 1h' });
  accel = stringOption({ names: '--accel', kind: 'string', label: 'ACCEL', description: 'Accelerator: auto (KVM when it works, else TCG), kvm, tcg' });
  volumes = arrayOption({ names: '-v,--volume', kind: 'array', label: 'HOST:GUEST[:ro]', description: 'Share a host directory' });
  net = switchOption({ names: '--net', kind: 'boolean', description: 'Give the guest user-mode networking' });
  ref = Option.String({ name: 'REF' });
  command = Option.Rest({ name: 'CMD' });

  protected perform(): Promise<number> {
    return runRun(this, this.io());
  }
}

/** `bbox run`'s option values: the fields declared above, and nothing else. */
export type RunFlags = Pick<
  RunCommand,
  | 'pull' | 'noRegistryCache' | 'noImageCache' | 'platform' | 'interactive' | 'tty' | 'cpus' | 'memory' | 'env' | 'workdir'
  | 'user' | 'timeout' | 'accel' | 'volumes' | 'net' | 'ref' | 'command' | 'configFile' | 'cacheDir'
>;
