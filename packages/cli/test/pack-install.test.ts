import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry } from '@broodbox/testkit';
import { runBbox } from './bbox-process.js';
import { appImage, push } from './registry-fixture.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['oci-client-lite', 'image', 'vmm', 'cli'];

t.test('the packed packages install with npm into an empty prefix, and the installed bbox works', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'bbox-pack-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const tarballs = join(work, 'tarballs');
  for (const p of PACKAGES) await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', p) });
  const files = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f));
  t.equal(files.length, PACKAGES.length, 'one tarball per package');

  const prefix = join(work, 'prefix');
  await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', ...files], { cwd: work, timeout: 300_000 });
  const bin = join(prefix, 'node_modules', '.bin', 'bbox');
  const env = { PATH: process.env.PATH, HOME: join(work, 'home') };

  const version = await run(bin, ['--version'], { env });
  t.match(version.stdout, /^\d+\.\d+\.\d+\n$/, 'the installed bbox prints its version');

  // How the README says to run it once: npx with the package name (its one bin is `bbox`). Offline,
  // with a registry address nothing listens on: the packed copy is used, never the npm registry's.
  const npxEnv = { ...env, npm_config_offline: 'true', npm_config_registry: 'http://127.0.0.1:9/', npm_config_update_notifier: 'false' };
  const npx = await run('npx', ['--offline', '@broodbox/cli', '--version'], { cwd: prefix, env: npxEnv });
  t.equal(npx.stdout, version.stdout, 'npx @broodbox/cli --version runs the packed CLI');

  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const digest = await push(reg, 'cli/packed', '1', appImage('packed'));
  const installed = join(prefix, 'node_modules', '@broodbox', 'cli');
  const pull = () => runBbox(['pull', '--json', `${reg.host}/cli/packed:1`], { bin: join(installed, 'bin', 'bbox.js'), cwd: work, env: { ...env, XDG_CACHE_HOME: join(work, 'cache') } });
  const pulled = await pull();
  t.equal(pulled.code, 0, pulled.stderr);
  const o = JSON.parse(pulled.stdout) as { digest: string; rootfs: string };
  t.equal(o.digest, digest, 'the installed bbox pulls from a registry');
  t.ok(o.rootfs.startsWith(join(work, 'cache')), 'into the default cache under $XDG_CACHE_HOME');

  t.ok(existsSync(join(installed, 'dist', 'pull-entry.cjs')), 'the bundled start of bbox pull is in the package');
  const again = await pull();
  t.equal(again.code, 0, again.stderr);
  t.same(JSON.parse(again.stdout), { ...o, fromCache: true }, 'the installed bbox answers a cached image');
});
