import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheLockedError } from '../src/cache-errors.js';
import { lockFileName } from '../src/lock.js';
import { Child, tempCache } from './cache-fixtures.js';

t.test('lock file names: readable for digests, hashed for anything else', async (t) => {
  t.equal(lockFileName(`image-sha256:${'a'.repeat(64)}`), `image-sha256-${'a'.repeat(64)}.lock`);
  t.match(lockFileName('../../etc/passwd'), /^h-[a-f0-9]{64}\.lock$/);
  t.match(lockFileName(''), /^h-[a-f0-9]{64}\.lock$/);
});

t.test('two processes never run a locked section at the same time', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const counter = join(dir, '..', 'counter');
  await writeFile(counter, '0');
  // Read-modify-write with a yield in between: any overlap loses increments.
  const code = `
    const { readFile, writeFile } = await import('node:fs/promises');
    const cache = new Cache(${JSON.stringify(dir)});
    for (let i = 0; i < 15; i++) {
      await cache.withLock('counter', async () => {
        const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
        await new Promise((r) => setImmediate(r));
        await writeFile(${JSON.stringify(counter)}, String(n + 1));
      });
    }
    say('done');
  `;
  const a = new Child(code);
  const b = new Child(code);
  t.teardown(() => Promise.all([a.kill(), b.kill()]));
  await Promise.all([a.waitFor(/^done$/), b.waitFor(/^done$/)]);
  t.equal(await readFile(counter, 'utf8'), '30');
});

t.test('a live holder makes others wait; a timeout gives CacheLockedError', async (t) => {
  const { cache, dir } = await tempCache(t, { lockStaleMs: 2000 });
  await cache.init();
  const child = new Child(`
    const cache = new Cache(${JSON.stringify(dir)}, { lockStaleMs: 2000 });
    await cache.withLock('image-x', async () => { say('locked'); await next(); });
    say('released');
  `);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  const err = (await cache.withLock('image-x', async () => 'ran', { timeoutMs: 3000 }).catch((e: unknown) => e)) as CacheLockedError;
  t.type(err, CacheLockedError, 'a live holder keeps its lock past the stale time');
  t.equal(err.code, 'CACHE_LOCKED');
  t.match(err.message, /image-x/);
  const waiting = cache.withLock('image-x', async () => 'ran');
  child.send('go');
  t.equal(await waiting, 'ran', 'acquired once the holder released');
});

t.test('the lock of a killed process goes stale and is taken over', async (t) => {
  const { cache, dir } = await tempCache(t, { lockStaleMs: 2000 });
  await cache.init();
  const child = new Child(`
    const cache = new Cache(${JSON.stringify(dir)}, { lockStaleMs: 2000 });
    await cache.withLock('layer-y', async () => { say('locked'); await new Promise(() => {}); });
  `);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  await child.kill();
  t.equal(await cache.withLock('layer-y', async () => 'ran', { timeoutMs: 20_000 }), 'ran');
});

t.test('the lock is released when the section throws', async (t) => {
  const { cache, dir } = await tempCache(t);
  await t.rejects(cache.withLock('z', async () => Promise.reject(new Error('boom'))), /boom/);
  t.equal(await cache.withLock('z', async () => 1, { timeoutMs: 1000 }), 1);
  t.same(await readdir(join(dir, 'locks')), []);
});

t.test('an aborted wait stops waiting', async (t) => {
  const { cache } = await tempCache(t);
  const ac = new AbortController();
  await cache.withLock('w', async () => {
    const waiting = cache.withLock('w', async () => 'ran', { signal: ac.signal });
    ac.abort();
    await t.rejects(waiting, { name: 'AbortError' });
  });
});
