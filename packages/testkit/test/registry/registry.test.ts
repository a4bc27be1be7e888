import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../../src/index.js';

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

t.test('starts a distribution registry on loopback and stops it', async (t) => {
  const reg = await startRegistry();
  t.match(reg.host, /^127\.0\.0\.1:\d+$/);
  const res = await fetch(`${reg.url}/v2/`);
  t.equal(res.status, 200);
  await reg.stop();
  await t.rejects(fetch(`${reg.url}/v2/`), 'no longer listening after stop');
});

t.test('proxy mode in front of another registry', async (t) => {
  const up = await startRegistry();
  t.teardown(() => up.stop());
  const mirror = await startRegistry({ proxy: { remoteurl: up.url } });
  t.teardown(() => mirror.stop());
  const res = await fetch(`${mirror.url}/v2/`);
  t.equal(res.status, 200);
  t.match(mirror.log(), /proxy|Starting cached object TTL expiry scheduler|remote/i, 'registry reports proxy mode');
});

t.test('logFile: the registry appends its access log to the file, which outlives stop', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bbox-registry-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'registry.log');
  const reg = await startRegistry({ logFile });
  t.teardown(() => reg.stop());
  t.equal(reg.logFile, logFile);
  const marker = `/v2/log-marker-${process.pid}/tags/list`;
  t.equal((await fetch(`${reg.url}${marker}`)).status, 404);
  // The registry writes the line after answering: wait for it to land in the file.
  await until(async () => (await readFile(logFile, 'utf8')).includes(`"GET ${marker} `));
  t.match(reg.log(), marker, 'log() reads the file back');
  await reg.stop();
  t.match(await readFile(logFile, 'utf8'), marker, 'the file is kept after stop');
});
