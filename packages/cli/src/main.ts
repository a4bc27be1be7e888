// Entry point of `bbox`. Start-up cost matters (a warm `bbox pull` should cost little more than
// starting node), so only what a command needs is loaded, and only when it is needed.
import { cliVersion } from './version.js';

function finish(code: number): void {
  // Exit explicitly: idle keep-alive sockets must not hold the process open after the work is done.
  process.stdout.write('', () => process.exit(code));
}

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(cliVersion() + '\n');
} else {
  const { runCli } = await import('./cli.js');
  finish(await runCli(argv, cliVersion()));
}
