#!/usr/bin/env node
// Runs every package's tap tests and ends with the line CI reads: "N passed, N failed".
// A "test" is a top-level `t.test()` (or top-level assertion) of a test file; a file that
// crashes before reporting anything counts as one failure.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// Tiers, by file name: `*.unit.test.ts` needs no root, network or QEMU and runs first
// (`pnpm test:unit`); `*.system.test.ts` boots VMs or drives whole CLI sessions; every other
// `*.test.ts` is an integration test (a real registry, real files, root or a user it creates).
const TIERS = {
  unit: (f) => f.endsWith('.unit.test.ts'),
  integration: (f) => !f.endsWith('.unit.test.ts') && !f.endsWith('.system.test.ts'),
  system: (f) => f.endsWith('.system.test.ts'),
};

function testFiles(dir) {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const rel = join(dir, e.name);
      if (e.isDirectory()) return testFiles(rel);
      return e.name.endsWith('.test.ts') ? [rel] : [];
    });
}

let argv = process.argv.slice(2);
let tier;
if (argv[0] === '--tier') {
  tier = argv[1];
  argv = argv.slice(2);
  if (!tier || !(tier in TIERS)) {
    process.stdout.write(`run-tests: --tier takes one of ${Object.keys(TIERS).join(', ')}\n0 passed, 1 failed\n`);
    process.exit(2);
  }
}
const args = argv;
const all = readdirSync(join(root, 'packages')).flatMap((p) => testFiles(join('packages', p, 'test')));
// Without a tier, every file runs: the unit tier first, so a broken unit fails fast.
const files = args.length
  ? args
  : tier
    ? all.filter(TIERS[tier])
    : [...all.filter(TIERS.unit), ...all.filter(TIERS.integration), ...all.filter(TIERS.system)];

if (files.length === 0) {
  process.stdout.write(`run-tests: no test files${tier ? ` in the ${tier} tier` : ''}\n0 passed, 0 failed\n`);
  process.exit(0);
}

const tap = join(root, 'node_modules', '.bin', 'tap');
// tap rebuilds its test class when .taprc's plugin list differs from its default, and the run that
// triggers the rebuild still loads the old plugins. Build first (once per .taprc: a stamp in
// node_modules remembers) so every run uses .taprc's plugins.
const stamp = join(root, 'node_modules', '.cache', 'bbox-tap-build');
const wanted = createHash('sha256').update(readFileSync(join(root, '.taprc'))).digest('hex');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
  const build = spawnSync(tap, ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    process.stdout.write('tap build failed\n0 passed, 1 failed\n');
    process.exit(1);
  }
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, wanted);
}
// The default registry caches stand in front of docker.io, ghcr.io and quay.io: in tests the list is
// empty unless a test names an upstream, so nothing ever starts a cache of a real registry.
const env = { ...process.env, BBOX_REGISTRY_CACHE_UPSTREAMS: process.env.BBOX_REGISTRY_CACHE_UPSTREAMS ?? '' };
const child = spawn(tap, ['--reporter=tap', ...files], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });

let passed = 0;
let failed = 0;
let fileFailedChildren = 0;
let buf = '';
const onLine = (line) => {
  process.stdout.write(line + '\n');
  if (/^ {4}ok \d+/.test(line)) {
    passed++;
  } else if (/^ {4}not ok \d+/.test(line)) {
    failed++;
    fileFailedChildren++;
  } else if (/^(not )?ok \d+ - /.test(line)) {
    // End of one file: a failed file with no failed test inside crashed or timed out.
    if (line.startsWith('not ok') && fileFailedChildren === 0) failed++;
    fileFailedChildren = 0;
  }
};
child.stdout.on('data', (d) => {
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    onLine(buf.slice(0, i));
    buf = buf.slice(i + 1);
  }
});
child.on('close', (code) => {
  if (buf) onLine(buf);
  if (code !== 0 && failed === 0) failed = 1;
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
