/**
 * Tying a child's life to this process: util-linux `setpriv --pdeathsig KILL` sets
 * PR_SET_PDEATHSIG and execs the program, so the kernel kills the child when this process dies,
 * whatever the cause (kill -9, the OOM killer, a crash), where no exit handler can run.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function findInPath(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir || '.', name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let setpriv: string | null | undefined;

/**
 * `program args` as a command line that dies with this process: through `setpriv` when it is
 * installed and `program` is found; otherwise unchanged (so a missing program fails as usual).
 */
export function dyingWithThisProcess(program: string, args: string[]): { file: string; args: string[] } {
  if (setpriv === undefined) setpriv = findInPath('setpriv') ?? null;
  const found = setpriv ? findInPath(program) : undefined;
  if (!setpriv || !found) return { file: program, args };
  return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', found, ...args] };
}
