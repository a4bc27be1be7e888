import t from 'tap';
import { Cli } from 'clipanion';
import { PullCommand } from '../../src/pull/pull-command.js';
import { parsePullArgv } from '../../src/pull/pull-argv.js';
import type { PullRequest } from '../../src/pull/pull-options.js';

function viaClipanion(argv: string[]): PullRequest {
  const cli = new Cli({ binaryName: 'bbox' });
  cli.register(PullCommand);
  const c = cli.process(argv) as PullCommand;
  return {
    refs: c.refs,
    pull: c.pull,
    noPull: c.noPull,
    platform: c.platform,
    noRegistryCache: c.noRegistryCache,
    json: c.json,
    quiet: c.quiet,
    config: c.configFile,
    cacheDir: c.cacheDir,
  };
}

t.test('the start-up parser reads pull command lines exactly as the full parser does', async (t) => {
  const lines = [
    ['pull', 'alpine'],
    ['pull', '--json', 'alpine:3.20'],
    ['pull', 'alpine', '--json', '-q'],
    ['pull', '--pull', 'always', '127.0.0.1:5000/app:1'],
    ['pull', '--pull=max-age=24h', 'app@sha256:' + 'a'.repeat(64)],
    ['pull', '--no-pull', '--quiet', 'alpine'],
    ['pull', '--platform', 'linux/arm64/v8', '--cache-dir', '/tmp/c', '--config', 'x.yaml', '--no-registry-cache', 'alpine'],
    ['pull', '--cache-dir=/tmp/c', '--platform=linux/amd64', 'alpine'],
    ['pull', 'a', 'b'],
    ['pull', '--json', 'alpine:3.20', '127.0.0.1:5000/app:1', '--pull', 'always'],
  ];
  for (const argv of lines) t.same(parsePullArgv(argv), viaClipanion(argv), argv.join(' '));
});

t.test('anything unusual is left to the full parser', async (t) => {
  const lines = [
    ['pull'],
    ['pull', '--help'],
    ['pull', '-h', 'alpine'],
    ['pull', '--json', '--json', 'alpine'],
    ['pull', '--pull', 'always', '--pull', 'never', 'alpine'],
    ['pull', '--pull'],
    ['pull', '--pull', '--json', 'alpine'],
    ['pull', '--bogus', 'alpine'],
    ['pull', '--json=true', 'alpine'],
    ['pull', '-qj', 'alpine'],
    ['pull', '--', 'alpine'],
    ['run', 'alpine'],
    ['cache', 'list'],
  ];
  for (const argv of lines) t.equal(parsePullArgv(argv), undefined, argv.join(' '));
});
