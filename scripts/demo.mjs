#!/usr/bin/env node
// Drives the built `bbox` CLI against a loopback registry this script starts and stops itself.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, makeLayer, pushImage, startRegistry, startProxy } from '../packages/testkit/dist/index.js';

const root = new URL('..', import.meta.url).pathname;
const bbox = join(root, 'packages/cli/bin/bbox.js');
const work = mkdtempSync(join(tmpdir(), 'bbox-demo-'));
const env = { ...process.env, BBOX_CACHE_DIR: join(work, 'cache'), XDG_CONFIG_HOME: join(work, 'config') };

/** A small busybox userland: the static busybox binary and the applets the demo uses. */
function baseLayer() {
  const busybox = readFileSync('/bin/busybox');
  const applets = ['sh', 'ls', 'cat', 'echo', 'uname', 'id', 'pwd', 'env', 'true', 'false', 'mount', 'poweroff'];
  return makeLayer([
    ...['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home'].map((p) => ({ path: `${p}/`, type: 'dir', mode: p === 'tmp' ? 0o1777 : 0o755 })),
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: busybox },
    ...applets.map((a) => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/sh\n' },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\nnogroup:x:65534:\n' },
  ]);
}

function appLayer(version) {
  return makeLayer([
    { path: 'app/', type: 'dir' },
    { path: 'app/message', type: 'file', content: `hello from bbox demo v${version}\n` },
  ]);
}

function image(version, base) {
  return buildImage({
    layers: [base, appLayer(version)],
    config: { Cmd: ['/bin/cat', '/app/message'], Env: ['PATH=/bin'], WorkingDir: '/app' },
  });
}

/** Runs one bbox command; asynchronously, since the counting proxy lives in this process. */
async function step(title, args) {
  const shown = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  console.log(`\n$ bbox ${shown}    # ${title}`);
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bbox, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = await once(child, 'exit');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`  (exit ${code}, ${ms.toFixed(0)} ms)`);
  if (code !== 0) throw new Error(`bbox ${args.join(' ')} failed with exit code ${code}`);
}

const registry = await startRegistry();
// A counting proxy in front of the registry shows which steps touch the network.
const proxy = await startProxy({ target: registry.url });
try {
  const base = baseLayer();
  const ref = `${proxy.host}/demo/busybox:latest`;
  await pushImage(registry.url, 'demo/busybox', image(1, base), { tag: 'latest' });
  console.log(`registry ${registry.url} (through a counting proxy at ${proxy.url}) holds ${ref}`);

  const requests = () => proxy.requests.length;
  /** The requests since `from`, with the manifest ones spelled out. */
  const report = (from) => {
    const made = proxy.requests.slice(from);
    const manifests = made.filter((r) => /\/manifests\//.test(r.path)).map((r) => `${r.method} ${r.path.replace(/^.*\/manifests\//, '')}`);
    console.log(`  registry requests: ${made.length}${manifests.length ? ` (manifest: ${manifests.join(', ')})` : ''}`);
  };
  let before = requests();
  await step('cold pull: one manifest GET, then the config and every layer', ['pull', ref]);
  report(before);
  before = requests();
  await step('warm pull: cache hit, no network', ['pull', ref]);
  report(before);
  before = requests();
  await step('always: one HEAD, digest unchanged', ['pull', '--pull', 'always', ref]);
  report(before);

  await pushImage(registry.url, 'demo/busybox', image(2, base), { tag: 'latest' });
  console.log('\npushed v2 of the image: only its top layer differs');
  before = requests();
  await step('always: new digest, the HEAD, the manifest by digest, only the new layer fetched', ['pull', '--pull', 'always', ref]);
  report(before);

  await step('the cache: two entries, the old one now an orphan', ['cache', 'list']);
  await step('gc: remove what no ref points at', ['cache', 'gc']);
  await step('after gc', ['cache', 'list']);
  await step('a command in a microVM booted from the image', ['run', '--pull', 'never', ref, '--', 'sh', '-c', 'cat /app/message; echo "kernel $(uname -r), user $(id -un), cwd $(pwd)"']);
} finally {
  await proxy.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
