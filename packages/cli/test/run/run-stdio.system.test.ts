// `bbox run` without a terminal, with real QEMU (TCG) and a real registry: stdin and its end,
// forwarded signals, holds against gc, kill -9 of bbox, --no-image-cache, --platform.
import t from 'tap';
import { once } from 'node:events';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { qemuPidsWith, runFixture, waitForOutput, type RunFixture } from './run-fixture.js';

/** Exit code and output of a bbox started by the fixture, once it ends. */
async function finished(child: ReturnType<RunFixture['spawnBbox']>) {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** A hash of every path in `dir` with its type, size, mode and mtime. */
function listingHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p}\0${st.mode}\0${st.size}\0${st.mtimeMs}\0`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Waits until `check` is true, polling every 50 ms for at most `ms`; resolves with the last answer. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

t.test('bbox run without a terminal', async (t) => {
  const fx = await runFixture(t);

  await t.test('-i: the piped stdin reaches the command, and its end too', async (t) => {
    const child = fx.spawnBbox(fx.runArgs(['-i', fx.ref, '--', 'wc', '-l']), 'pipe');
    child.stdin?.end('a\nb\n');
    const r = await finished(child);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), '2');
  });

  await t.test('-it with stdin not a terminal is refused before anything runs', async (t) => {
    const r = await fx.sb.run(fx.runArgs(['-it', fx.ref, '--', 'sh']), { env: fx.env });
    t.equal(r.code, 2);
    t.match(r.stderr, /the input device is not a TTY/);
  });

  await t.test('SIGTERM reaches the command, which sees it; bbox exits 143', async (t) => {
    const child = fx.spawnBbox(fx.runArgs([fx.ref, '--', 'sh', '-c', `trap 'echo got TERM; trap - TERM; kill -TERM $$' TERM; echo ready; sleep 100 & wait`]));
    const done = finished(child);
    await waitForOutput(child.stdout!, /ready/);
    child.kill('SIGTERM');
    const r = await done;
    t.equal(r.code, 143, r.stderr);
    t.match(r.stdout, /got TERM/, 'the guest program trapped the signal and printed');
  });

  await t.test('a command that outlives SIGINT: the second one stops the VM, exit 130', async (t) => {
    const child = fx.spawnBbox(fx.runArgs([fx.ref, '--', 'sh', '-c', `trap 'echo got INT' INT; echo ready; sleep 100 & while :; do wait; done`]));
    const done = finished(child);
    await waitForOutput(child.stdout!, /ready/);
    // The first is passed on (the command says so and goes on); the second stops the VM.
    child.kill('SIGINT');
    await waitForOutput(child.stdout!, /got INT/);
    child.kill('SIGINT');
    const r = await done;
    t.equal(r.code, 130, r.stderr);
  });

  await t.test('gc during a run leaves the held entry; kill -9 of bbox leaves no QEMU and no hold', async (t) => {
    const ref = `${fx.reg.host}/run/gc:1`;
    await fx.push('run/gc', '1', 'first');
    const child = fx.spawnBbox(fx.runArgs([ref, '--', 'sh', '-c', 'echo ready; sleep 100']));
    await waitForOutput(child.stdout!, /ready/, 120_000);
    const entries = async () => JSON.parse((await fx.sb.run(['cache', 'list', '--json', '--cache-dir', fx.sb.cacheDir], { env: fx.env })).stdout) as { entries: Array<{ digest: string; refs: string[]; held: boolean }> };
    const running = (await entries()).entries.find((e) => e.refs.some((r) => r.includes('run/gc')))?.digest;
    t.ok(running, 'the running image is cached');
    // The tag moves on: the running image's entry is now an orphan that gc would remove.
    await fx.push('run/gc', '1', 'second');
    t.equal((await fx.sb.run(['pull', '--cache-dir', fx.sb.cacheDir, '--pull', 'always', ref], { env: fx.env })).code, 0);
    const gc1 = await fx.sb.run(['cache', 'gc', '--cache-dir', fx.sb.cacheDir], { env: fx.env });
    t.equal(gc1.code, 0, gc1.stderr);
    t.equal((await entries()).entries.find((e) => e.digest === running)?.held, true, 'gc left the entry the running VM holds');

    const qemu = qemuPidsWith(fx.sb.root);
    t.equal(qemu.length, 1, 'one QEMU runs for this sandbox');
    child.kill('SIGKILL');
    t.ok(await until(() => qemuPidsWith(fx.sb.root).length === 0, 5000), 'no QEMU process 5 s after kill -9 of bbox');
    const gc2 = await fx.sb.run(['cache', 'gc', '--cache-dir', fx.sb.cacheDir], { env: fx.env });
    t.equal(gc2.code, 0, gc2.stderr);
    t.notOk((await entries()).entries.some((e) => e.digest === running), "the dead run's hold does not block the next gc");
  });

  await t.test('--no-image-cache leaves the cache directory as it was', async (t) => {
    const before = listingHash(fx.sb.cacheDir);
    const r = await fx.sb.run(fx.runArgs(['--no-image-cache', fx.ref, '--', 'cat', '/etc/marker']), { env: fx.env });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, 'one\n');
    t.equal(listingHash(fx.sb.cacheDir), before, 'same names, sizes, modes and mtimes');
    const never = await fx.sb.run(fx.runArgs(['--no-image-cache', '--pull', 'never', fx.ref]), { env: fx.env });
    t.equal(never.code, 2);
    t.match(never.stderr, /--no-image-cache cannot go with the pull policy never/);
  });

  await t.test('--platform of another architecture is refused before any pull', async (t) => {
    // Port 1 of loopback: a pull would fail to connect, not name the platform.
    const r = await fx.sb.run(fx.runArgs(['--platform', 'linux/arm64', '127.0.0.1:1/none/such:1']), { env: fx.env });
    t.equal(r.code, 2, r.stderr);
    t.match(r.stderr, /platform linux\/arm64 cannot run on this host/);
  });
});
