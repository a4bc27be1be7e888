// A side of a comparison that runs the bbox CLI in a scratch directory of its own, made fresh for
// every run and removed after it (also when the run fails), so no run sees another's cache.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cliMissing, sampleOf, timeMeasured } from './bbox.mjs';

/**
 * `measure(dir)` runs and returns the sample; `cleanup(dir)`, when given, runs before the directory
 * is removed (to stop what the run started there, or remove files it wrote beside it).
 */
export function cliSide(ctx, id, label, measure, { cleanup } = {}) {
  return {
    id,
    label,
    unavailable: cliMissing(),
    run: async () => {
      const dir = await mkdtemp(join(ctx.workDir, `${id}-`));
      try {
        return await measure(dir);
      } finally {
        await cleanup?.(dir);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The baseline a short command is held against: the start and exit of a bare `node -e 0`. */
export function nodeStartSide(ctx) {
  return { id: 'node-e-0', label: 'node -e 0', run: async () => sampleOf(await timeMeasured(ctx, [process.execPath, '-e', '0'], { label: 'node -e 0' })) };
}
