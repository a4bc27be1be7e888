import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { startProxy, startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

// `bbox pull --pull background`: the command answers from the cache and exits; the refresh runs
// on in a detached process, one per ref at a time, and a failure is reported by the next command.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const proxy = await startProxy({ target: reg.url });
t.teardown(() => proxy.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());
const C = ['--cache-dir', sb.cacheDir];
const refreshDir = join(sb.cacheDir, 'refresh');

async function logs(): Promise<string> {
  const names = await readdir(refreshDir).catch(() => [] as string[]);
  const texts = await Promise.all(names.filter((n) => n.endsWith('.log')).map((n) => readFile(join(refreshDir, n), 'utf8')));
  return texts.join('');
}

// The refreshers are detached: any still running when the test ends is stopped.
t.teardown(async () => {
  for (const m of (await logs()).matchAll(/\[pid (\d+)\]/g)) {
    try {
      process.kill(Number(m[1]), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** Waits until the refresh logs say `what` (a bounded wait on a file, re-read as it grows). */
async function logSays(what: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await logs();
    if (what.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the refresh log never said ${what}:\n${text}`);
    await delay(20);
  }
}

t.test('returns before the registry answers; the new digest is served next; one refresh per ref', async (t) => {
  const repo = 'bg/app';
  const ref = `${proxy.host}/${repo}:latest`;
  const manifest = `/v2/${repo}/manifests/latest`;
  const v1 = await push(reg, repo, 'latest', appImage('1'));
  const first = await sb.run(['pull', ...C, ref]);
  t.equal(first.code, 0, first.stderr);
  const v2 = await push(reg, repo, 'latest', appImage('2'));

  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  t.teardown(() => release());
  proxy.setFaults([{ name: 'held-head', method: 'HEAD', path: manifest, fault: { kind: 'stall', until: gate } }]);
  const bg = await sb.run(['pull', ...C, '--pull', 'background', '--json', ref]);
  t.equal(bg.code, 0, bg.stderr);
  const out = JSON.parse(bg.stdout) as { digest: string; policy: string; fromCache: boolean };
  t.same([out.digest, out.policy, out.fromCache], [v1, 'background', true], 'answered from the cache');
  // The command has exited; the refresh's HEAD is at the proxy, still unanswered.
  await proxy.waitFor((reqs) => reqs.some((r) => r.method === 'HEAD' && r.path === manifest && !r.done));
  t.equal(proxy.count({ method: 'HEAD', path: manifest, status: 200 }), 0, 'the registry had answered no HEAD when the command exited');

  // A second background pull meanwhile starts no second refresh of the same ref.
  const again = await sb.run(['pull', ...C, '--pull', 'background', ref]);
  t.equal(again.code, 0, again.stderr);
  await logSays(/skipped: another refresh of it is running/);
  t.equal(proxy.count({ method: 'HEAD', path: manifest }), 1, 'one HEAD: one refresh at a time');

  release();
  await logSays(new RegExp(`done: ${v2}`));
  const next = await sb.run(['pull', ...C, '--pull', 'never', '--json', ref]);
  t.equal((JSON.parse(next.stdout) as { digest: string }).digest, v2, 'the next pull serves the new digest, offline');
});

t.test('a failed refresh keeps the cached image and is reported once, by the next command', async (t) => {
  const repo = 'bg/fails';
  const ref = `${proxy.host}/${repo}:latest`;
  const v1 = await push(reg, repo, 'latest', appImage('f1'));
  t.equal((await sb.run(['pull', ...C, ref])).code, 0);
  proxy.setFaults([{ method: 'HEAD', path: `/v2/${repo}/manifests/latest`, fault: { kind: 'status', status: 404 } }]);
  const bg = await sb.run(['pull', ...C, '--pull', 'background', ref]);
  t.equal(bg.code, 0, bg.stderr);
  t.match(bg.stdout, v1);
  await logSays(/refresh of .*bg\/fails:latest failed/);
  // The report is written after the log line: wait for it too.
  const deadline = Date.now() + 10_000;
  while (!(await readdir(refreshDir)).some((n) => n.endsWith('.failed.json'))) {
    if (Date.now() > deadline) throw new Error('no failure report');
    await delay(20);
  }
  const first = await sb.run(['images', ...C]);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, new RegExp(`^bbox: warning: background refresh of .*bg/fails:latest failed at .*the cached image was kept`, 'm'));
  const second = await sb.run(['pull', ...C, '--pull', 'never', ref]);
  t.equal(second.code, 0, second.stderr);
  t.notMatch(second.stderr, /background refresh/, 'reported once only');
  t.match(second.stdout, v1, 'the cached image was kept');
  proxy.setFaults([]);
});
