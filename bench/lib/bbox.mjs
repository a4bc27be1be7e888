// How the harness drives bbox: the CLI through its documented contract (a child process, the
// cache dir given explicitly, config isolated from the machine's), and the library in-process.
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotMeasuredError } from './interleave.mjs';
import { tailLines, timeCommand } from './measure.mjs';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// BENCH_BBOX_CLI measures another build of the CLI (a path to its bin script).
export const CLI_BIN = process.env.BENCH_BBOX_CLI ? resolve(process.env.BENCH_BBOX_CLI) : join(ROOT, 'packages/cli/bin/bbox.js');
export const CLI_MAIN = process.env.BENCH_BBOX_CLI ? CLI_BIN : join(ROOT, 'packages/cli/dist/main.js');
export const IMAGE_LIB = join(ROOT, 'packages/image/dist/index.js');
export const VMM_LIB = join(ROOT, 'packages/vmm/dist/index.js');

/** Why the CLI cannot be run at all, or undefined when it can be tried. */
export function cliMissing() {
  if (!existsSync(CLI_MAIN)) return `the bbox CLI is not built yet (${CLI_MAIN} is missing)`;
  return undefined;
}

// Settings that would change what a measured command does; the harness passes its own.
const CALLER_SETTINGS = ['BBOX_PULL', 'BBOX_CACHE_DIR', 'BBOX_DISABLE_REGISTRY_CACHE', 'BBOX_CONFIG', 'BBOX_REGISTRY_CACHE_BIN'];

/**
 * The environment bbox runs in: no user config (XDG_CONFIG_HOME is the harness's own, empty) and
 * no pull or cache settings from the caller. XDG_CACHE_HOME stays, so `run` finds the kernel that
 * scripts/fetch-kernel.sh unpacked there.
 */
export async function bboxEnv(benchDir, extra = {}) {
  const env = { ...process.env };
  for (const k of CALLER_SETTINGS) delete env[k];
  // No registry cache of a real registry: a scenario that measures the caches names its upstream.
  env.BBOX_REGISTRY_CACHE_UPSTREAMS = '';
  env.XDG_CONFIG_HOME = join(benchDir, 'xdg-config');
  await mkdir(env.XDG_CONFIG_HOME, { recursive: true });
  return { ...env, ...extra };
}

export function bboxArgv(args) {
  return [process.execPath, CLI_BIN, ...args];
}

/** Parses `bbox pull --json` output and checks it against what the registry holds. */
export function checkPullOutput(stdout, expect) {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  let out;
  try {
    out = JSON.parse(line ?? '');
  } catch {
    throw new NotMeasuredError(`bbox pull --json printed no JSON object (stdout: ${tailLines(stdout, 2) || 'empty'})`);
  }
  if (expect.digest && out.digest !== expect.digest) {
    throw new NotMeasuredError(`bbox pull reported digest ${out.digest}, the registry has ${expect.digest}`);
  }
  if (expect.fromCache !== undefined && out.fromCache !== expect.fromCache) {
    throw new NotMeasuredError(`bbox pull reported fromCache=${out.fromCache}, expected ${expect.fromCache}`);
  }
  if (typeof out.rootfs !== 'string') throw new NotMeasuredError('bbox pull --json gave no rootfs path');
  return out;
}

export async function assertRootfs(out, probe) {
  try {
    const s = await stat(join(out.rootfs, probe));
    if (!s) throw new Error('missing');
  } catch {
    throw new NotMeasuredError(`the rootfs bbox reported (${out.rootfs}) has no ${probe}`);
  }
}

/**
 * Runs a command measured, reading the requests it made from `counts` (an AccessLog or a list of
 * them). A failure becomes NotMeasuredError carrying the command's own message.
 */
export async function timeMeasured(ctx, argv, { label, counts = [], layerDigests, treeRss = false, env } = {}) {
  const logs = Array.isArray(counts) ? counts : [counts];
  const marks = await Promise.all(logs.map((l) => l.mark()));
  const res = await timeCommand(argv, { cwd: ctx.workDir, env: env ?? process.env, treeRss, allowFailure: true });
  if (res.code !== 0) {
    throw new NotMeasuredError(`${label ?? argv[0]} exited ${res.code}: ${tailLines(res.stderr || res.stdout, 4)}`);
  }
  const requests = await Promise.all(logs.map((l, i) => l.since(marks[i], layerDigests)));
  return { ...res, requests: requests[0], requestsPerLog: requests };
}

/** Runs `bbox ARGS…` measured (see timeMeasured). */
export async function timeBbox(ctx, args, opts = {}) {
  const missing = cliMissing();
  if (missing) throw new NotMeasuredError(missing);
  return timeMeasured(ctx, bboxArgv(args), {
    ...opts,
    label: `bbox ${args.slice(0, 2).join(' ')}`,
    env: await bboxEnv(ctx.benchDir, opts.extraEnv),
  });
}

/** A sample for the interleaving loop from a measured command. */
export function sampleOf(res, extra = {}) {
  return {
    wallMs: res.wallMs,
    maxRssKiB: res.maxRssKiB,
    treeRssPeakKiB: res.treeRssPeakKiB || undefined,
    requests: res.requests ? stripEnd(res.requests) : undefined,
    ...extra,
  };
}

function stripEnd({ end: _end, ...rest }) {
  return rest;
}

/** The library, or a reason it cannot be used yet. */
export async function loadImageLib() {
  if (!existsSync(IMAGE_LIB)) return { reason: 'packages/image is not built (dist/index.js missing)' };
  try {
    const mod = await import(IMAGE_LIB);
    const missing = ['Cache', 'pullWithFetcher'].filter((n) => typeof mod[n] !== 'function');
    if (missing.length) return { reason: `@broodbox/image does not export ${missing.join(', ')} yet` };
    return { mod };
  } catch (err) {
    return { reason: `@broodbox/image fails to load: ${err.message}` };
  }
}
