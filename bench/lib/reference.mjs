// The reference workload: shared/bench/setup.sh builds a Debian minbase image plus layers
// (debootstrap from Debian's mirror, umoci) and serves it from a loopback registry. It is
// idempotent, so every run calls it and it returns at once when everything exists.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './bbox.mjs';
import { runQuiet } from './measure.mjs';
import { describeImage } from './registry-http.mjs';

const TOOLS = [
  ['docker-registry', 'docker-registry'],
  ['skopeo', 'skopeo'],
  ['umoci', 'umoci'],
  ['debootstrap', 'debootstrap'],
  ['podman', 'podman'],
  ['/usr/bin/time', 'time'],
  ['strace', 'strace'],
];

async function have(cmd) {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return (await runQuiet(['sh', '-c', `command -v ${cmd}`], { allowFailure: true })).code === 0;
}

/** Installs the Debian packages the harness and its peers need, when missing. */
export async function ensureTools(log) {
  const missing = [];
  for (const [cmd, pkg] of TOOLS) if (!(await have(cmd))) missing.push(pkg);
  if (!missing.length) return;
  log?.(`installing ${missing.join(' ')}`);
  await runQuiet(['apt-get', 'update', '-qq']);
  await runQuiet(['apt-get', 'install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function sharedBenchDir() {
  return resolve(process.env.BENCH_SHARED ?? join(ROOT, '..', 'shared', 'bench'));
}

export async function ensureReference({ benchDir, port, log }) {
  await ensureTools(log);
  const sharedBench = sharedBenchDir();
  const setup = join(sharedBench, 'setup.sh');
  if (!existsSync(setup)) throw new Error(`${setup} is missing: set BENCH_SHARED to the shared/bench directory`);
  const t0 = Date.now();
  await runQuiet([setup], { env: { ...process.env, BENCH_DIR: benchDir, BENCH_PORT: String(port) } });
  const seconds = (Date.now() - t0) / 1000;
  const baseUrl = `http://127.0.0.1:${port}`;
  const images = {};
  for (const tag of ['base', 'app', 'big']) {
    images[tag] = { ...(await describeImage(baseUrl, 'bench/debian', tag)), ref: `127.0.0.1:${port}/bench/debian:${tag}` };
  }
  return { seconds, images, sharedBench };
}
