// bbox as an unprivileged user against bbox as root, interleaved in one run, on the reference
// image: a cold pull, and the first `bbox run … -- true` after a pull (the guest owners script is
// made then: for the user, from the record and a walk of the rootfs; as root, from the record). Both sides
// run the same CLI through `setpriv` (root switching to itself, or to the user), each with a HOME,
// XDG cache and bbox cache of its own, and the same kernel, copied where the user can read it.
import { execFileSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { bboxEnv, checkPullOutput, cliMissing, CLI_BIN, sampleOf, timeMeasured } from '../lib/bbox.mjs';
import { interleave, ratio, reasonOf } from '../lib/interleave.mjs';
import { atMost, makeRow } from '../lib/rows.mjs';

const USER = 'bbox-rootless';
const TARGET = '≤ 1.2x root';
/**
 * Both sides boot under TCG: a user without the kvm group would otherwise be compared with KVM.
 * A time limit, so a boot that hangs under TCG on a busy host (see docs/vm.md) ends the side.
 */
const ACCEL = 'tcg';

/** The user (created when missing), or a reason the scenario cannot run. */
function unprivilegedUser() {
  if (process.getuid?.() !== 0) return { reason: 'needs root, to run bbox both as root and as an unprivileged user' };
  try {
    try {
      execFileSync('id', ['-u', USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', USER], { stdio: 'ignore' });
    }
    const [, , uid, gid] = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).trim().split(':');
    const user = { name: USER, uid: Number(uid), gid: Number(gid) };
    // The CLI is run from the checkout: the user must be able to read it.
    execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'test', '-r', CLI_BIN], { stdio: 'ignore' });
    return { user };
  } catch (err) {
    return { reason: `no unprivileged user that can read the checkout (${reasonOf(err)})` };
  }
}

/** The kernel scripts/fetch-kernel.sh unpacked, hardlinked (or copied) where the user can read it. */
function readableKernel(ctx) {
  const src = process.env.BBOX_KERNEL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'broodbox', 'kernel');
  const dest = join(ctx.workDir, 'rootless-kernel');
  execFileSync('bash', ['-c', 'cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; chmod -R a+rX "$2"', 'copy', src, dest]);
  return dest;
}

/** One side: who runs bbox, in which private directories. */
async function makeSide(ctx, id, who, kernelDir) {
  const home = join(ctx.workDir, `rootless-${id}`);
  await mkdir(join(home, 'xdg-cache'), { recursive: true });
  const owner = who ?? { uid: 0, gid: 0 };
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, home]);
  const env = await bboxEnv(ctx.benchDir, { HOME: home, XDG_CACHE_HOME: join(home, 'xdg-cache'), BBOX_KERNEL_DIR: kernelDir });
  const argv = (args) => ['setpriv', `--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', process.execPath, CLI_BIN, ...args];
  const freshCache = async () => {
    const dir = await mkdtemp(join(home, 'cache-'));
    await chown(dir, owner.uid, owner.gid);
    return dir;
  };
  const pull = async (cache, label) => {
    const res = await timeMeasured(ctx, argv(['pull', '--json', '--cache-dir', cache, ctx.reference.big.ref]), { label, env, treeRss: true });
    checkPullOutput(res.stdout, { digest: ctx.reference.big.digest, fromCache: false });
    return res;
  };
  return { home, env, argv, freshCache, pull };
}

export async function rootlessRuns(ctx) {
  const image = ctx.reference.big;
  const { runs, warmup } = ctx.plan.heavy;
  ctx.log(`bbox as root and as ${USER}: cold pull and first run, ${image.ref}`);
  const found = unprivilegedUser();
  const unavailable = cliMissing() ?? found.reason;
  let sides = [];
  if (!unavailable) {
    const kernelDir = readableKernel(ctx);
    sides = [await makeSide(ctx, 'root', undefined, kernelDir), await makeSide(ctx, 'user', found.user, kernelDir)];
  }
  const labels = ['bbox as root', `bbox as ${USER} (uid ${found.user?.uid ?? '?'})`];

  const pullSides = ['root', 'user'].map((id, i) => ({
    id,
    label: `${labels[i]}: bbox pull, empty cache`,
    unavailable,
    run: async () => {
      const cache = await sides[i].freshCache();
      try {
        return sampleOf(await sides[i].pull(cache, `bbox pull as ${id}`));
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    },
  }));
  const [pullRoot, pullUser] = await interleave({ sides: pullSides, runs, warmup, log: ctx.log, deadline: ctx.deadline });

  const runSides = ['root', 'user'].map((id, i) => ({
    id,
    label: `${labels[i]}: first bbox run -- true after a pull`,
    unavailable,
    run: async () => {
      const side = sides[i];
      const cache = await side.freshCache();
      try {
        await side.pull(cache, `bbox pull as ${id} (not measured)`);
        const res = await timeMeasured(ctx, side.argv(['run', '--cache-dir', cache, '--accel', ACCEL, '--timeout', '180', image.ref, '--', 'true']), {
          label: `bbox run as ${id}`,
          env: side.env,
          treeRss: true,
        });
        return sampleOf(res);
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    },
  }));
  const [runRoot, runUser] = await interleave({ sides: runSides, runs, warmup, log: ctx.log, deadline: ctx.deadline });

  const row = (id, scenario, user, root) =>
    makeRow({
      id,
      scenario,
      target: TARGET,
      bbox: user,
      peers: [root],
      reason: user.measured && !root.measured ? `root side not measured: ${root.reason}` : undefined,
      figures: { ratioUserVsRoot: ratio(user, root), user: USER, ...(id.endsWith('run') ? { accel: ACCEL } : {}) },
      checks: [atMost('unprivileged vs root', ratio(user, root), 1.2)],
    });
  return [
    row('rootless-cold-pull', 'cold `bbox pull` of the reference image, unprivileged user vs root', pullUser, pullRoot),
    row('rootless-first-run', 'first `bbox run … -- true` after a pull (shared root), unprivileged user vs root', runUser, runRoot),
  ];
}
