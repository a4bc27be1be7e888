#!/usr/bin/env node
// `pnpm bench`: builds the workloads, measures bbox against its peers (interleaved, medians), and
// writes bench/out/results.json and docs/benchmarks.md. Options (environment):
//   BENCH_DIR=/tmp/bench  BENCH_PORT=5555   where the workloads and the loopback registry live
//   BENCH_QUICK=1                           fewer runs (a smoke run; figures are rougher)
//   BENCH_RUNS=N  BENCH_WARMUP=N            measured runs / warm-up runs for every scenario
//   BENCH_ONLY=id,id  BENCH_SKIP=id,id      scenarios to run (ids: see SCENARIOS below)
//   BENCH_BUDGET_S=840                      scenarios starting after this many seconds are skipped
//   BENCH_MIRROR_IMAGE=reference            mirror scenario on the reference image (default synthetic)
//   BENCH_REGISTRY_CACHE_IMAGE=reference|synthetic  registry-cache scenario on another image (default ~100 MB in 4 files)
//   BENCH_MERGE=1                           with BENCH_ONLY: replace those rows in the last full results
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { AccessLog } from './lib/access-log.mjs';
import { ROOT } from './lib/bbox.mjs';
import { reasonOf } from './lib/interleave.mjs';
import { describeMachine } from './lib/machine.mjs';
import { notMeasuredRow } from './lib/rows.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { ensureReference } from './lib/reference.mjs';
import { ensureSynthetic } from './lib/synthetic.mjs';
import { coldPull, pullAlways, warmPull } from './scenarios/pulls.mjs';
import { concurrentPulls, sharedBase, topLayerChanged } from './scenarios/incremental.mjs';
import { cacheList } from './scenarios/cache-list.mjs';
import { imagesList } from './scenarios/images.mjs';
import { microbench, verifyAndClone } from './scenarios/inprocess.mjs';
import { mirrorPull } from './scenarios/mirror.mjs';
import { registryCachePull } from './scenarios/registry-cache.mjs';
import { proxyPull } from './scenarios/proxy.mjs';
import { vmRun } from './scenarios/vm-run.mjs';
import { vmRoot } from './scenarios/vm-root.mjs';
import { smallFilesPulls } from './scenarios/small-files.mjs';
import { ttyEcho } from './scenarios/tty-echo.mjs';
import { rootlessRuns } from './scenarios/rootless.mjs';

const SCENARIOS = [
  { id: 'cold', run: coldPull, rows: [['cold-pull', 'cold pull of the reference image', '≤ 1.0x GNU tar; ≤ 0.9x skopeo+umoci; peak RSS ≤ 200 MiB']] },
  {
    id: 'small-files',
    run: smallFilesPulls,
    rows: [
      ['small-files-cold', 'cold pull of 160k small files', '≤ 1.0x GNU tar; peak RSS ≤ 200 MiB'],
      ['small-files-rss', 'peak RSS at 20k and 160k small files', 'larger ≤ 1.3x smaller; ≤ 200 MiB'],
    ],
  },
  { id: 'warm', run: warmPull, rows: [['warm-pull', 'warm `bbox pull`', '≤ 1.5x `node -e 0`, zero requests']] },
  { id: 'always', run: pullAlways, rows: [['pull-always', '`--pull always`, tag unchanged', '≤ 2x `skopeo inspect`, one manifest request']] },
  { id: 'top-layer', run: topLayerChanged, rows: [['top-layer-changed', 'new digest, only the top layer changed', '≤ 0.35x cold']] },
  { id: 'shared-base', run: sharedBase, rows: [['shared-base', 'second image sharing the base layers', 'own layers only']] },
  { id: 'list', run: cacheList, rows: [['cache-list', '`bbox cache list` with 20 entries', '≤ 200 ms']] },
  { id: 'images', run: imagesList, rows: [['images', '`bbox images` with 200 refs', '≤ 2x `node -e 0`, no tree walks']] },
  { id: 'concurrent', run: concurrentPulls, rows: [['concurrent-pulls', 'two concurrent cold pulls', 'bytes once; ≤ 1.1x']] },
  { id: 'run', run: vmRun, rows: [['vm-run', '`bbox run … -- true`', '≤ 1.3x bare QEMU']] },
  {
    id: 'vm-root',
    run: vmRoot,
    rows: [
      ['vm-root-first-run', 'first `bbox run` after a cold pull, beyond a warm run', 'issue 19: ≤ 0.1x the cold pull'],
      ['vm-root-disk', 'disk per booted image', 'issue 19: ≤ 5% of the rootfs'],
      ['vm-root-second-image', 'first run of a second image sharing the base layers', 'issue 19: ≤ 0.1x its own pull'],
    ],
  },
  { id: 'tty', run: ttyEcho, rows: [['tty-echo', 'keystroke echo round trip under `bbox run -it`, TCG', '≤ 20 ms median']] },
  {
    id: 'micro',
    run: microbench,
    rows: [
      ['micro-lookup', 'in-process `cache.lookupRef` hit', '≤ 1 ms (median)'],
      ['micro-if-not-present', 'in-process `pullWithFetcher` if-not-present hit', '≤ 2 ms (median)'],
      ['micro-always', 'in-process `pullWithFetcher` always, tag unchanged', 'one HEAD round trip + ≤ 2 ms'],
    ],
  },
  { id: 'mirror', run: mirrorPull, rows: [['mirror', 'pull through a warm mirror vs direct', 'issue 5']] },
  {
    id: 'registry-cache',
    run: registryCachePull,
    rows: [
      ['registry-cache-first', 'first pull through a new registry cache vs direct, 100 Mbit/s upstream', 'issue 16: ≤ 1.15x'],
      ['registry-cache-purged', 'pull after `bbox cache purge` via the warm registry cache vs the first pull', 'issue 16: ≤ 0.5x'],
    ],
  },
  { id: 'proxy', run: proxyPull, rows: [['proxy', 'cold pull through a forward proxy vs direct (TLS)', '≤ 1.1x direct']] },
  { id: 'verify-clone', run: verifyAndClone, rows: [['verify', '`cache.verify`', 'issue 8'], ['clone', '`cache.clone` vs `cp -a`', 'issue 8']] },
  // Last: it needs root and a user it creates, and costs about four minutes.
  {
    id: 'rootless',
    run: rootlessRuns,
    rows: [
      ['rootless-cold-pull', 'cold pull, unprivileged user vs root', '≤ 1.2x root'],
      ['rootless-first-run', 'first `bbox run` after a pull, unprivileged user vs root', '≤ 1.2x root'],
    ],
  },
];

function list(name) {
  return (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function intEnv(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v} is not a whole number`);
  return n;
}

/** Runs and warm-ups per scenario weight, sized so the whole run fits in 15 minutes on 2 cores. */
function makePlan(quick) {
  const runs = intEnv('BENCH_RUNS');
  const warmup = intEnv('BENCH_WARMUP');
  const p = (r, w) => ({ runs: runs ?? r, warmup: warmup ?? w });
  return quick
    ? { heavy: p(1, 1), medium: p(1, 0), light: p(5, 1), vm: p(2, 1), copy: p(1, 0), microIters: 200, microAlwaysIters: 50 }
    : { heavy: p(3, 1), medium: p(3, 0), light: p(11, 2), vm: p(5, 1), copy: p(2, 0), microIters: 2000, microAlwaysIters: 300 };
}

function logger(t0) {
  return (msg) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
}

async function main() {
  const t0 = Date.now();
  const log = logger(t0);
  const quick = process.env.BENCH_QUICK === '1';
  const benchDir = process.env.BENCH_DIR || '/tmp/bench';
  const port = Number(process.env.BENCH_PORT || 5555);
  const budgetS = intEnv('BENCH_BUDGET_S') ?? 840;
  const only = list('BENCH_ONLY');
  const skip = list('BENCH_SKIP');
  const unknown = [...only, ...skip].filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario id(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const selected = SCENARIOS.filter((s) => (!only.length || only.includes(s.id)) && !skip.includes(s.id));

  const outDir = join(ROOT, 'bench', 'out');
  const workDir = join(benchDir, `work-${process.pid}`);
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const machine = await describeMachine(benchDir);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverageAtStart.join(' ')}`);

  log('workload (a): the reference image (shared/bench/setup.sh)');
  const reference = await ensureReference({ benchDir, port, log });
  log(`  ready in ${reference.seconds.toFixed(1)} s`);
  const registryHost = `127.0.0.1:${port}`;
  const baseUrl = `http://${registryHost}`;
  log('workload (b): the synthetic images');
  const synthetic = await ensureSynthetic({ benchDir, registryHost, baseUrl, log });
  log(`  ready in ${synthetic.seconds.toFixed(1)} s${synthetic.built ? ' (built now)' : ''}`);

  const registryLog = new AccessLog(join(benchDir, 'registry.log'), baseUrl);
  const countsWork = await registryLog.works();
  if (!countsWork) log(`request counts unavailable: ${registryLog.file} is not the log of ${baseUrl}`);

  const ctx = {
    benchDir,
    workDir,
    outDir,
    registryHost,
    baseUrl,
    registryLog: countsWork ? registryLog : { file: undefined, mark: async () => 0, since: async () => undefined },
    sharedBench: reference.sharedBench,
    peerEnv: { ...process.env, BENCH_DIR: benchDir, BENCH_PORT: String(port) },
    reference: reference.images,
    synthetic,
    quick,
    plan: makePlan(quick),
    deadline: t0 + budgetS * 1000,
    state: {},
    log,
  };

  const rows = [];
  const timings = {};
  try {
    for (const s of selected) {
      const elapsed = (Date.now() - t0) / 1000;
      if (elapsed > budgetS) {
        log(`skipping ${s.id}: ${elapsed.toFixed(0)} s elapsed, budget ${budgetS} s`);
        for (const [id, sc, tg] of s.rows) rows.push({ ...notMeasuredRow(id, sc, tg, `time budget of ${budgetS} s used up before it started`), group: s.id });
        continue;
      }
      const ts = Date.now();
      try {
        const stamp = { measuredAt: new Date().toISOString(), loadAverage: Math.round(os.loadavg()[0] * 100) / 100 };
        rows.push(...(await s.run(ctx)).map((r) => ({ ...r, ...stamp, group: s.id })));
      } catch (err) {
        log(`${s.id} failed: ${err.stack ?? err}`);
        for (const [id, sc, tg] of s.rows) rows.push({ ...notMeasuredRow(id, sc, tg, `harness error: ${reasonOf(err)}`), group: s.id });
      }
      timings[s.id] = (Date.now() - ts) / 1000;
      log(`${s.id}: done in ${timings[s.id].toFixed(0)} s`);
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const totalS = (Date.now() - t0) / 1000;
  const results = {
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    options: { quick, plan: ctx.plan, only, skip, benchDir, port, budgetS },
    workloads: {
      reference: { setupSeconds: reference.seconds, images: reference.images },
      synthetic: { setupSeconds: synthetic.seconds, built: synthetic.built, layers: synthetic.layers, images: synthetic.images },
    },
    scenarioSeconds: timings,
    totalSeconds: totalS,
    rows,
  };
  const merge = process.env.BENCH_MERGE === '1';
  const final = merge ? await mergeInto(join(outDir, 'results.json'), results) : results;
  await writeFile(join(outDir, 'results.json'), JSON.stringify(final, null, 2) + '\n');
  const partial = !merge && (only.length > 0 || skip.length > 0);
  const md = renderMarkdown(final, { partial });
  const mdPath = partial ? join(outDir, 'benchmarks-partial.md') : join(ROOT, 'docs', 'benchmarks.md');
  await writeFile(mdPath, md);
  log(`wrote ${join(outDir, 'results.json')} and ${mdPath} (${totalS.toFixed(0)} s)`);
  for (const r of rows) log(`  ${r.verdict.padEnd(12)} ${r.id}${r.reason ? `: ${r.reason}` : ''}`);
}

/**
 * BENCH_MERGE=1: the rows of this (partial) run replace the rows with the same id in the last full
 * run's results, and the merge is recorded, so one row can be re-measured without the others.
 */
async function mergeInto(file, results) {
  let previous;
  try {
    previous = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`BENCH_MERGE=1 needs an earlier run's ${file}: run pnpm bench first`);
  }
  // Rows of a re-run scenario replace all of its earlier rows, where they stood.
  const groups = new Set(results.rows.map((r) => r.group));
  const ids = new Set(results.rows.map((r) => r.id));
  const rows = [];
  const placed = new Set();
  for (const r of previous.rows) {
    if (!groups.has(r.group) && !ids.has(r.id)) {
      rows.push(r);
      continue;
    }
    const group = groups.has(r.group) ? r.group : results.rows.find((n) => n.id === r.id).group;
    if (placed.has(group)) continue;
    placed.add(group);
    rows.push(...results.rows.filter((n) => n.group === group));
  }
  rows.push(...results.rows.filter((n) => !placed.has(n.group)));
  const merges = [
    ...(previous.merges ?? []),
    { date: results.machine.date, rows: [...ids], totalSeconds: results.totalSeconds, loadAverageAtStart: results.machine.loadAverageAtStart },
  ];
  return { ...previous, rows, merges };
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exit(1);
});
