// How many times a bbox command makes a few system calls (`strace -f -c`): a listing that walks
// trees shows it in its getdents64 calls long before its time does on a fast disk.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bboxArgv, bboxEnv } from './bbox.mjs';
import { runQuiet } from './measure.mjs';

/** Runs `bbox …args` under strace once; returns each of `traced` → its call count (0 when unseen). */
export async function syscallCounts(ctx, args, traced) {
  // Named by the command's words (`strace-cache-list.txt`): those before its first option.
  const firstOption = args.findIndex((a) => a.startsWith('-'));
  const words = firstOption === -1 ? args : args.slice(0, firstOption);
  const out = join(ctx.workDir, `strace-${words.join('-')}.txt`);
  await runQuiet(['strace', '-f', '-c', '-e', `trace=${traced.join(',')}`, '-o', out, ...bboxArgv(args)], {
    cwd: ctx.workDir,
    env: await bboxEnv(ctx.benchDir),
  });
  const counts = Object.fromEntries(traced.map((s) => [s, 0]));
  // strace -c's table: % time, seconds, usecs/call, calls, [errors], syscall.
  for (const line of (await readFile(out, 'utf8')).split('\n')) {
    const c = line.trim().split(/\s+/);
    if (traced.includes(c[c.length - 1]) && /^\d/.test(c[0])) counts[c[c.length - 1]] = Number(c[3]);
  }
  await rm(out, { force: true });
  return counts;
}
