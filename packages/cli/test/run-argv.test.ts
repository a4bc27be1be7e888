import t from 'tap';
import { Cli } from 'clipanion';
import { RunCommand } from '../src/commands/run.js';
import { parseRunArgv } from '../src/run-argv.js';
import type { RunArgs } from '../src/run-action.js';

function viaClipanion(argv: string[]): RunArgs {
  const cli = new Cli({ binaryName: 'bbox' });
  cli.register(RunCommand);
  const c = cli.process(argv) as RunCommand;
  return {
    ref: c.ref,
    command: c.command,
    cpus: c.cpus,
    memory: c.memory,
    env: c.env,
    workdir: c.workdir,
    user: c.user,
    timeout: c.timeout,
    accel: c.accel,
    volumes: c.volumes,
    net: c.net,
    pull: c.pull,
    noRegistryCache: c.noRegistryCache,
    config: c.configFile,
    cacheDir: c.cacheDir,
  };
}

/** Absent and undefined options are the same to the command. */
function defined(args: RunArgs | undefined): Record<string, unknown> | undefined {
  return args && Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}

t.test('the start-up parser reads run command lines exactly as the full parser does', async (t) => {
  const lines = [
    ['run', 'alpine'],
    ['run', 'alpine:3.20', '--', 'true'],
    ['run', '--net', 'debian:12', '--', 'sh', '-c', 'echo hi; exit 7'],
    ['run', '--cache-dir', '/tmp/c', '--accel', 'tcg', '--cpus', '1', '--memory', '512', '127.0.0.1:5000/app:1', '--', 'true'],
    ['run', '-e', 'A=1', '--env', 'B', '--env=C=3', '-w', '/srv', '-u', '1000:1000', 'app', '--', 'env'],
    ['run', '-v', './data:/data:ro', '--volume=/x:/y', '--timeout', '5m', 'alpine', '--', 'ls', '--', '-l'],
    ['run', '--pull=always', '--no-registry-cache', '--config', 'x.yaml', '--workdir=/a', '--user=app', 'alpine'],
    ['run', '--pull', 'max-age=24h', 'app@sha256:' + 'a'.repeat(64), '--', '--weird', '-x'],
  ];
  for (const argv of lines) t.same(defined(parseRunArgv(argv)), defined(viaClipanion(argv)), argv.join(' '));
});

t.test('anything unusual is left to the full parser', async (t) => {
  const lines = [
    ['run'],
    ['run', '--help'],
    ['run', '-h', 'alpine'],
    ['run', 'alpine', 'true'],
    ['run', 'alpine', '--net'],
    ['run', '--net', '--net', 'alpine'],
    ['run', '--cpus', '1', '--cpus', '2', 'alpine'],
    ['run', '--cpus'],
    ['run', '--cpus', '--net', 'alpine'],
    ['run', '--bogus', 'alpine'],
    ['run', '--net=true', 'alpine'],
    ['run', '-ew', 'alpine'],
    ['run', '-e=A=1', 'alpine'],
    ['run', '--', 'alpine'],
    ['pull', 'alpine'],
  ];
  for (const argv of lines) t.equal(parseRunArgv(argv), undefined, argv.join(' '));
});
