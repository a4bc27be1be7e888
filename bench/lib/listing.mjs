// A listing command (`bbox cache list`, `bbox images`) timed over a cache filled for it, against
// the start of a bare `node -e 0`: what such a command costs beyond Node's own start is its reads.
import { cliMissing, sampleOf, timeBbox } from './bbox.mjs';
import { nodeStartSide } from './cli-side.mjs';
import { interleave, reasonOf } from './interleave.mjs';
import { syscallCounts } from './syscall-counts.mjs';

/**
 * Fills the cache at `dir` once (`fill`, unmeasured), checks one `--json` listing (`countListed`
 * gets its stdout and what `fill` returned), counts the `traced` system calls of one plain listing,
 * then interleaves the plain listing with `node -e 0`. A step that fails makes the bbox side not
 * measured, with the reason.
 */
export async function measureListing(ctx, { command, dir, label, fill, countListed, traced, runs, warmup }) {
  const plain = [...command, '--cache-dir', dir];
  let unavailable = cliMissing();
  let filled;
  if (!unavailable) {
    try {
      filled = await fill();
    } catch (err) {
      unavailable = `could not fill the cache: ${reasonOf(err)}`;
    }
  }
  let listed;
  let syscalls;
  if (!unavailable) {
    try {
      listed = countListed((await timeBbox(ctx, [...command, '--json', '--cache-dir', dir])).stdout, filled);
      syscalls = await syscallCounts(ctx, plain, traced);
    } catch (err) {
      unavailable = reasonOf(err);
    }
  }
  const [bbox, node] = await interleave({
    sides: [{ id: 'bbox', label, unavailable, run: async () => sampleOf(await timeBbox(ctx, plain)) }, nodeStartSide(ctx)],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  return { bbox, node, listed, syscalls };
}
