import t from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheProcesses, cacheWorld, waitGone } from './fixture.js';

t.test('a killed cache is restarted on the next pull and keeps what it held; a port taken by something else is not trusted', async (t) => {
  const w = await cacheWorld(t);
  const first = await w.pull();
  t.equal(first.code, 0, first.stderr);
  const pid = w.statePid()!;
  const { port } = JSON.parse(readFileSync(join(w.dir, 'state.json'), 'utf8')) as { port: number };
  const upstreamGets = (await w.upstreamBlobGets()).length;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);

  // Something else now answers on the recorded port, as a registry would.
  const seen: string[] = [];
  const imposter = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json' });
    res.end('{}');
  });
  imposter.listen(port, '127.0.0.1');
  await once(imposter, 'listening');
  t.teardown(() => new Promise((r) => imposter.close(r)));

  await w.sb.run(['cache', 'purge', '--force', '--cache-dir', w.sb.cacheDir]);
  const again = await w.pull();
  t.equal(again.code, 0, again.stderr);
  t.equal(again.stderr, '', 'no warning: the cache was replaced, not skipped');
  const pid2 = w.statePid();
  t.not(pid2, pid, 'a new process');
  t.same(cacheProcesses(w.root), [pid2], 'it runs, alone');
  t.same(seen.filter((u) => u.includes('/library/app/')), [], 'the imposter on the old port served nothing');
  t.equal((await w.upstreamBlobGets()).length, upstreamGets, 'the restarted cache served the blobs it held: no upstream blob request');
});

t.test('two concurrent first pulls start one cache', async (t) => {
  const w = await cacheWorld(t);
  const [a, b] = await Promise.all([w.pull(), w.sb.run(['pull', '--cache-dir', join(w.sb.root, 'cache-b'), w.ref], { env: w.env })]);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  t.equal(a.stderr + b.stderr, '', 'no warnings');
  t.same(cacheProcesses(w.root), [w.statePid()], 'exactly one cache process, the recorded one');
});
