// `bbox run … -- true` with the image and its disk cached, against a bare QEMU boot of the same
// kernel that powers off at once. The bare boot's command line comes from @broodbox/vmm
// (`bareBootCommand`), so both boot the same way; without it the row is not measured.
import { existsSync } from 'node:fs';
import { cliMissing, sampleOf, timeBbox, timeMeasured, VMM_LIB } from '../lib/bbox.mjs';
import { interleave, NotMeasuredError, ratio, reasonOf } from '../lib/interleave.mjs';
import { atMost, makeRow } from '../lib/rows.mjs';
import { referenceWarmCache } from '../lib/warm-cache.mjs';

const ID = 'vm-run';
const SCENARIO = '`bbox run … -- true`, image and disk cached (reference image)';
const TARGET = '≤ 1.3x a bare QEMU boot of the same kernel';

/** The bare boot from the VM layer: `{ argv, accel }`, or a reason it is not available. */
async function bareBoot(ctx) {
  if (!existsSync(VMM_LIB)) return { reason: 'packages/vmm is not built' };
  let vmm;
  try {
    vmm = await import(VMM_LIB);
  } catch (err) {
    return { reason: `@broodbox/vmm fails to load: ${err.message}` };
  }
  if (typeof vmm.bareBootCommand !== 'function') {
    return { reason: '@broodbox/vmm exports no bareBootCommand() giving the QEMU command of a boot that powers off at once' };
  }
  try {
    const cmd = await vmm.bareBootCommand({ workDir: ctx.workDir });
    return { argv: cmd.argv ?? cmd, accel: cmd.accel };
  } catch (err) {
    return { reason: `bareBootCommand() failed: ${reasonOf(err)}` };
  }
}

export async function vmRun(ctx) {
  const image = ctx.reference.big;
  const { runs, warmup } = ctx.plan.vm;
  ctx.log(`bbox run -- true vs a bare QEMU boot, ${image.ref}`);
  let unavailable = cliMissing();
  if (!unavailable) {
    try {
      await referenceWarmCache(ctx);
    } catch (err) {
      unavailable = reasonOf(err);
    }
  }
  const bare = await bareBoot(ctx);
  const accelArgs = bare.accel ? ['--accel', bare.accel] : [];
  const [bbox, qemu] = await interleave({
    sides: [
      {
        id: 'bbox',
        label: 'bbox run -- true',
        unavailable,
        run: async () => {
          const res = await timeBbox(ctx, ['run', '--cache-dir', ctx.state.warmCache.dir, ...accelArgs, image.ref, '--', 'true'], { treeRss: true });
          return sampleOf(res);
        },
      },
      {
        id: 'qemu-bare',
        label: 'bare QEMU boot, power off at once',
        unavailable: bare.reason,
        run: async () => {
          const res = await timeMeasured(ctx, bare.argv, { label: 'bare QEMU boot', treeRss: true });
          if (res.wallMs < 50) throw new NotMeasuredError('the bare QEMU boot returned in under 50 ms: not a boot');
          return sampleOf(res);
        },
      },
    ],
    runs,
    warmup,
    log: ctx.log,
    deadline: ctx.deadline,
  });
  return [
    makeRow({
      id: ID,
      scenario: SCENARIO,
      target: TARGET,
      bbox,
      peers: [qemu],
      reason: bbox.measured && !qemu.measured ? `bare QEMU boot not measured: ${qemu.reason}` : undefined,
      figures: { ratioVsBareQemu: ratio(bbox, qemu), accel: bare.accel },
      checks: [atMost('vs bare QEMU boot', ratio(bbox, qemu), 1.3)],
    }),
  ];
}
