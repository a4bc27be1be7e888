// The full command line of `bbox`. Start-up cost matters, so only what a command needs is
// loaded, and only when it is needed. `bin/bbox.js` sends `bbox pull` to the bundled
// pull-entry first, which comes here for whatever the cache alone cannot answer.
import { exitWhenFlushed } from './output/exit-when-flushed.js';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'pull') {
    // Loaded together: each import is a separate wait on the module loader otherwise.
    const [{ parsePullArgv }, { runPull }] = await Promise.all([import('./pull/pull-argv.js'), import('./pull/pull-action.js')]);
    const pull = parsePullArgv(argv);
    if (pull) return runPull(pull, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  }
  if (argv[0] === 'images') {
    const [{ parseImagesArgv }, { runImages }] = await Promise.all([import('./images/images-argv.js'), import('./images/images-action.js')]);
    const images = parseImagesArgv(argv);
    if (images) return runImages(images, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  }
  const { cliVersion } = await import('./command-line/version.js');
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(cliVersion() + '\n');
    return 0;
  }
  const { runCli } = await import('./command-line/cli.js');
  return runCli(argv, cliVersion());
}

exitWhenFlushed(await main(process.argv.slice(2)));
