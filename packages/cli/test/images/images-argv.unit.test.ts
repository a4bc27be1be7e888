import t from 'tap';
import { Cli } from 'clipanion';
import { ImagesCommand } from '../../src/images/images-command.js';
import { parseImagesArgv } from '../../src/images/images-argv.js';
import type { ImagesRequest } from '../../src/images/images-action.js';

function viaClipanion(argv: string[]): ImagesRequest {
  const cli = new Cli({ binaryName: 'bbox' });
  cli.register(ImagesCommand);
  const c = cli.process(argv) as ImagesCommand;
  return { json: c.json, orphans: c.orphans, all: c.all, noTrunc: c.noTrunc, repositories: c.repositories, config: c.configFile, cacheDir: c.cacheDir };
}

t.test('the start-up parser reads images command lines exactly as the full parser does', async (t) => {
  const lines = [
    ['images'],
    ['images', '--json'],
    ['images', '--orphans', '--cache-dir', '/tmp/c'],
    ['images', '-a', '--no-trunc', 'alpine', '127.0.0.1:5000/*'],
    ['images', '--cache-dir=/tmp/c', '--config', 'x.yaml', 'app', '--json'],
  ];
  for (const argv of lines) t.same(parseImagesArgv(argv), viaClipanion(argv), argv.join(' '));
});

t.test('anything unusual is left to the full parser', async (t) => {
  for (const argv of [['images', '--help'], ['images', '--json', '--json'], ['images', '--bogus'], ['images', '--cache-dir'], ['images', '--json=1'], ['image', 'ls']]) {
    t.equal(parseImagesArgv(argv), undefined, argv.join(' '));
  }
});
