import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startProxy, startRegistry } from '@broodbox/testkit';
import { BBOX_BIN, makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

t.test('Ctrl-C aborts a pull: exit 130, one line, nothing partial left in the cache', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await push(reg, 'cli/slow', '1', appImage('slow'));
  const proxy = await startProxy({ target: reg.url, faults: [{ method: 'GET', path: '/blobs/sha256:', every: true, fault: { kind: 'stall', afterBytes: 10 } }] });
  t.teardown(() => proxy.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const child = spawn(process.execPath, [BBOX_BIN, 'pull', '--cache-dir', sb.cacheDir, `${proxy.host}/cli/slow:1`], { cwd: sb.workdir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await proxy.waitFor((reqs) => reqs.some((r) => r.path.includes('/blobs/') && r.bytesOut >= 10), 30_000);
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exit code 130');
  t.equal(stdout, '');
  t.equal(stderr, 'bbox: interrupted\n');
  const list = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir, '--json']);
  t.same(JSON.parse(list.stdout).entries, [], 'no entry was published');
});

t.test('progress is drawn on a terminal, without colours under NO_COLOR', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await push(reg, 'cli/tty', '1', appImage('tty'));
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const underPty = (cacheDir: string, env: Record<string, string>) =>
    new Promise<string>((resolve, reject) => {
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BBOX_BIN)} pull --cache-dir ${JSON.stringify(cacheDir)} ${reg.host}/cli/tty:1`;
      const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: sb.workdir, env: { ...sb.env, TERM: 'xterm', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      // Escape bytes are shown as <ESC> so that the checks below read as plain text.
      child.on('close', (code) => (code === 0 ? resolve(out.replaceAll('\u001b', '<ESC>')) : reject(new Error(`bbox under a pty exited ${code}: ${out}`))));
    });
  const colour = await underPty(join(sb.root, 'c1'), {});
  t.match(colour, /<ESC>\[2K {2}[0-9a-f]{12} {2}\[#+\]/, 'one line per layer, redrawn in place');
  t.match(colour, /total.*\d+ B \/ \d+ B/, 'a total line');
  t.match(colour, /<ESC>\[\d+F/, 'the block is redrawn with cursor moves');
  t.match(colour, /<ESC>\[32mdone/, 'colour on a terminal');
  t.match(colour, /pulled 2 layers/, 'the summary follows');
  const plain = await underPty(join(sb.root, 'c2'), { NO_COLOR: '1' });
  t.match(plain, /total/, 'progress still drawn');
  t.notMatch(plain, /<ESC>\[(1|32|2)m/, 'no colour codes under NO_COLOR');
});

t.test('cache.maxBytes evicts least recently used entries after a pull, never the one just used', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await push(reg, 'cli/evict', 'a', appImage('a'));
  const bDigest = await push(reg, 'cli/evict', 'b', appImage('b'));
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const c = ['--cache-dir', sb.cacheDir];
  t.equal((await sb.run(['pull', ...c, `${reg.host}/cli/evict:a`])).code, 0);
  await sb.write(sb.globalConfig, 'cache:\n  maxBytes: 1\n');
  const b = await sb.run(['pull', ...c, '--json', `${reg.host}/cli/evict:b`]);
  t.equal(b.code, 0, b.stderr);
  t.equal(b.stderr, '');
  const list = JSON.parse((await sb.run(['cache', 'list', ...c, '--json'])).stdout) as { entries: Array<{ digest: string }> };
  t.same(list.entries.map((e) => e.digest), [bDigest], 'the older entry went, the one just pulled stayed');
});
