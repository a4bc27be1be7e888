// `cache.verify` on the reference image, and `cache.clone` against `cp -a` of the same rootfs
// (interleaved), run in its own process by the harness: argv[2] is a JSON object
// {cacheDir, digest, rootfs, runs, workDir}. Prints one JSON object; times in ms.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_LIB } from '../lib/bbox.mjs';

const args = JSON.parse(process.argv[2]);
const { Cache } = await import(IMAGE_LIB);
const cache = new Cache(args.cacheDir);
const result = {};

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function entries(dir) {
  const r = spawnSync('bash', ['-c', 'find . | wc -l', 'count'], { cwd: dir, encoding: 'utf8' });
  return Number(r.stdout.trim());
}

// Names, types, modes, owners, mtimes, link targets and file sizes (directory sizes depend on how
// the directory was filled, so they are left out).
const LISTING =
  "{ find . ! -type d -printf '%p %y %m %U:%G %s %T@ %l\\n'; find . -type d -printf '%p %y %m %U:%G %T@\\n'; } | LC_ALL=C sort | sha256sum";

function sameTree(a, b) {
  const list = (dir) =>
    spawnSync('bash', ['-c', LISTING, 'list'], { cwd: dir, encoding: 'utf8' }).stdout;
  return list(a) === list(b);
}

if (typeof cache.verify !== 'function') {
  result.verify = { reason: '@broodbox/image has no cache.verify yet' };
} else {
  const runs = [];
  let summary;
  for (let i = 0; i < args.runs; i++) {
    const { ms, value } = await timed(() => cache.verify({ digest: args.digest }));
    runs.push(ms);
    summary = value;
  }
  result.verify = { runsMs: runs, damaged: summary?.damaged, entries: summary?.entries?.length, summary: JSON.stringify(summary)?.slice(0, 300) };
}

if (typeof cache.clone !== 'function') {
  result.clone = { reason: '@broodbox/image has no cache.clone yet' };
} else {
  const cloneMs = [];
  const cpMs = [];
  for (let i = 0; i < args.runs; i++) {
    const dest = join(args.workDir, `clone-${i}`);
    const c = await timed(() => cache.clone(args.digest, dest));
    cloneMs.push(c.ms);
    if (i === 0) {
      result.cloneEntries = entries(dest);
      result.rootfsEntries = entries(args.rootfs);
      result.cloneSameTree = sameTree(dest, args.rootfs);
    }
    await rm(dest, { recursive: true, force: true });
    const cpDest = join(args.workDir, `cp-${i}`);
    const t0 = performance.now();
    const r = spawnSync('cp', ['-a', args.rootfs, cpDest]);
    cpMs.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
    await rm(cpDest, { recursive: true, force: true });
  }
  result.clone = { cloneMs, cpMs };
}

process.stdout.write(JSON.stringify(result) + '\n');
