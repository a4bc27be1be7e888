import t, { type Test } from 'tap';
import { lstat, lutimes, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CacheLockedError } from '../../src/errors/cache-errors.js';
import { lockFileName, tryLock } from '../../src/cache/lock.js';
import { currentOwner } from '../../src/cache/process-owner.js';
import { CACHE_MODULE, Child, tempCache } from './fixtures.js';

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

/** A child process that takes `name` and stays in the section until killed. */
async function holderChild(t: Test, dir: string, name: string): Promise<Child> {
  const child = new Child(`
    const cache = new Cache(${JSON.stringify(dir)});
    await cache.withLock(${JSON.stringify(name)}, async () => { say('locked'); await new Promise(() => {}); });
  `);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  return child;
}

t.test('the lock of a process killed with SIGKILL is taken over at once, and says so', async (t) => {
  // The default stale time (10 s) stays in force: only the dead owner lets the waiter in.
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const child = await holderChild(t, dir, 'layer-y');
  const pid = child.proc.pid!;
  const err = (await cache.withLock('layer-y', async () => 'ran', { timeoutMs: 300 }).catch((e: unknown) => e)) as CacheLockedError;
  t.type(err, CacheLockedError, 'held while the child lives');
  t.match(err.message, new RegExp(`by pid ${pid}\\b`), 'the message names the holder');
  await child.kill();
  const takeover = await cache.withLock('layer-y', async (lock) => lock.takeover, { timeoutMs: 60_000 });
  t.match(takeover, { reason: 'dead', owner: { pid, ns: currentOwner().ns, host: currentOwner().host } }, 'taken over from the dead owner');
  t.equal(await cache.withLock('layer-y', async (lock) => lock.takeover, { timeoutMs: 1000 }), undefined, 'a released lock is simply free');
  t.same(await readdir(join(dir, 'locks')), [], 'no lock or claim is left');
});

t.test('a killed holder that its parent has not reaped yet (a zombie) is dead too', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  // A parent that never waits for its child: the killed holder stays a zombie.
  const parent = spawn('python3', ['-c', [
    'import os, sys',
    'pid = os.fork()',
    'if pid == 0: os.execv(sys.argv[1], sys.argv[1:])',
    'print("child", pid, flush=True)',
    'sys.stdin.read()',
  ].join('\n'), process.execPath, '--import', 'tsx', '--input-type=module', '-e', `
    import { Cache } from ${JSON.stringify(CACHE_MODULE)};
    await new Cache(${JSON.stringify(dir)}).withLock('image-z', async () => { console.log('locked'); await new Promise(() => {}); });
  `], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: parent.stdout! })[Symbol.asyncIterator]();
  t.teardown(() => parent.kill('SIGKILL'));
  const pid = Number(/^child (\d+)$/.exec(String((await lines.next()).value))?.[1]);
  t.equal((await lines.next()).value, 'locked');
  process.kill(pid, 'SIGKILL');
  while (!/^\d+ \(.*\) Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8'))) await new Promise((r) => setImmediate(r));
  const release = await tryLock(join(dir, 'locks'), 'image-z');
  t.match(release?.takeover, { reason: 'dead', owner: { pid } }, 'taken over from the zombie');
  await release?.();
});

t.test('many waiters racing for a dead owner\'s lock: exactly one gets it', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const child = await holderChild(t, dir, 'image-race');
  await child.kill();
  const locks = join(dir, 'locks');
  const results = await Promise.all(Array.from({ length: 12 }, () => tryLock(locks, 'image-race')));
  const won = results.filter((r) => r !== undefined);
  t.equal(won.length, 1, 'one winner');
  t.equal(won[0]?.takeover?.reason, 'dead');
  t.equal(await tryLock(locks, 'image-race'), undefined, 'the winner holds it against later waiters');
  await won[0]!();
  t.same(await readdir(locks), [], 'claims are gone');
});

t.test('an owner that cannot be checked is waited for until its lock is stale', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const locks = join(dir, 'locks');
  const path = join(locks, lockFileName('remote'));
  const remote = { v: 1, pid: 1, start: 1, ns: 1, boot: 'another-boot', host: 'elsewhere', nonce: 'ab' };
  await symlink(JSON.stringify(remote), path);
  t.equal(await tryLock(locks, 'remote', { staleMs: 60_000 }), undefined, 'a fresh lock of another host is respected');
  const old = new Date(Date.now() - 120_000);
  await lutimes(path, old, old);
  const release = await tryLock(locks, 'remote', { staleMs: 60_000 });
  t.match(release?.takeover, { reason: 'stale', owner: { host: 'elsewhere', boot: 'another-boot' } });
  t.ok((await lstat(path)).mtimeMs > old.getTime() + 60_000, 'the new holder\'s lock is fresh');
  await release?.();
});

t.test('an older bbox\'s lock directory counts by its age', async (t) => {
  const { cache, dir } = await tempCache(t);
  await cache.init();
  const locks = join(dir, 'locks');
  const path = join(locks, lockFileName('legacy'));
  await mkdir(path);
  t.equal(await tryLock(locks, 'legacy', { staleMs: 60_000 }), undefined);
  const old = new Date(Date.now() - 120_000);
  await utimes(path, old, old);
  const release = await tryLock(locks, 'legacy', { staleMs: 60_000 });
  t.same(release?.takeover, { reason: 'stale', owner: undefined });
  t.ok((await lstat(path)).isSymbolicLink());
  await release?.();
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
