// `bbox run … -- true` with the image cached (its root shared over virtio-fs, the default), against a bare QEMU boot of the same
// kernel and initramfs that powers off as soon as /init runs (the VM layer's probe boot). The bare
// boot's command line comes from @broodbox/vmm (findKernel, ensureInitramfs, chooseAccelerator,
// qemuArgs, kernelCmdline, PROBE_ARG), so both boot the same machine the same way.
import { existsSync } from 'node:fs';
import { cliMissing, sampleOf, timeBbox, timeMeasured, VMM_LIB } from '../lib/bbox.mjs';
import { interleave, NotMeasuredError, ratio, reasonOf } from '../lib/interleave.mjs';
import { atMost, makeRow } from '../lib/rows.mjs';
import { referenceWarmCache } from '../lib/warm-cache.mjs';

const ID = 'vm-run';
const SCENARIO = '`bbox run … -- true`, image cached (reference image, shared root)';
const TARGET = '≤ 1.3x a bare QEMU boot of the same kernel';
const NEEDED = ['findKernel', 'ensureInitramfs', 'chooseAccelerator', 'qemuArgs', 'kernelCmdline', 'QemuBackend', 'defaultVmCacheDir'];
const CPUS = 1;

/** The bare boot from the VM layer: `{ argv, accel, memoryMiB, mark }`, or a reason it is not available. */
async function bareBoot() {
  if (!existsSync(VMM_LIB)) return { reason: 'packages/vmm is not built' };
  let vmm;
  try {
    vmm = await import(VMM_LIB);
  } catch (err) {
    return { reason: `@broodbox/vmm fails to load: ${err.message}` };
  }
  const missing = NEEDED.filter((n) => vmm[n] === undefined);
  if (missing.length || !vmm.PROBE_ARG) return { reason: `@broodbox/vmm does not export ${missing.join(', ') || 'PROBE_ARG'} yet` };
  try {
    const kernel = await vmm.findKernel();
    const cacheDir = vmm.defaultVmCacheDir();
    const initrd = (await vmm.ensureInitramfs({ kernel, cacheDir })).path;
    const backend = new vmm.QemuBackend();
    const accel = await vmm.chooseAccelerator('auto', { backend, kernel: kernel.kernel, initrd, cacheDir });
    const memoryMiB = vmm.DEFAULT_MEMORY_MIB ?? 256;
    const config = {
      kernel: kernel.kernel,
      initrd,
      cmdline: vmm.kernelCmdline(accel, [vmm.PROBE_ARG]),
      accel,
      cpus: CPUS,
      memoryMiB,
      channels: [],
    };
    return { argv: [backend.binary, ...vmm.qemuArgs(config)], accel, memoryMiB, mark: vmm.PROBE_MARK, kernel: kernel.version };
  } catch (err) {
    return { reason: `the VM layer could not prepare a bare boot: ${reasonOf(err)}` };
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
  const bare = await bareBoot();
  // The same accelerator and machine size for both sides.
  const machineArgs = bare.accel ? ['--accel', bare.accel, '--cpus', String(CPUS), '--memory', String(bare.memoryMiB)] : [];
  const [bbox, qemu] = await interleave({
    sides: [
      {
        id: 'bbox',
        label: 'bbox run -- true',
        unavailable,
        run: async () => {
          const res = await timeBbox(ctx, ['run', '--cache-dir', ctx.state.warmCache.dir, ...machineArgs, image.ref, '--', 'true'], { treeRss: true });
          return sampleOf(res);
        },
      },
      {
        id: 'qemu-bare',
        label: 'bare QEMU boot, power off at once',
        unavailable: bare.reason,
        run: async () => {
          const res = await timeMeasured(ctx, bare.argv, { label: 'bare QEMU boot', treeRss: true });
          if (bare.mark && !res.stdout.includes(bare.mark)) {
            throw new NotMeasuredError(`the bare QEMU boot ended without printing ${bare.mark}: ${res.stdout.slice(-300)}`);
          }
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
      figures: { ratioVsBareQemu: ratio(bbox, qemu), accel: bare.accel, kernel: bare.kernel, memoryMiB: bare.memoryMiB, cpus: CPUS },
      checks: [atMost('vs bare QEMU boot', ratio(bbox, qemu), 1.3)],
    }),
  ];
}
