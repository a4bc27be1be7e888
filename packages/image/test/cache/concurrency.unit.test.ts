import t from 'tap';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from '../../src/cache/cache.js';
import { Child, fakeDigest, tempCache } from './fixtures.js';

const A = fakeDigest('raced');

/** Child code that builds an entry for A in a tmp dir marked with its name. */
function buildEntry(dir: string, name: string, opts: { lockStaleMs?: number } = {}): string {
  return `
    const { mkdir, writeFile, appendFile } = await import('node:fs/promises');
    const cache = new Cache(${JSON.stringify(dir)}, ${JSON.stringify(opts)});
    const build = async () => {
      const tmp = await cacheWriter(cache).createTmpDir('rootfs');
      await mkdir(tmp + '/rootfs/etc', { recursive: true });
      await writeFile(tmp + '/rootfs/etc/who', ${JSON.stringify(name)});
      return tmp;
    };
    const meta = { digest: ${JSON.stringify(A)}, platform: 'linux/amd64', config: { rootfs: { type: 'layers', diff_ids: [] } }, layers: [], size: 1 };
  `;
}

t.test('two processes racing to publish one digest: one entry, both get its path', async (t) => {
  const { dir } = await tempCache(t);
  await new Cache(dir).init();
  const race = (name: string) =>
    new Child(`${buildEntry(dir, name)}
      const tmp = await build();
      say('ready');
      await next();
      say('published ' + await cacheWriter(cache).publishEntry(tmp, meta));
    `);
  const a = race('a');
  const b = race('b');
  t.teardown(() => Promise.all([a.kill(), b.kill()]));
  await Promise.all([a.waitFor(/^ready$/), b.waitFor(/^ready$/)]);
  a.send('go');
  b.send('go');
  const [pa, pb] = await Promise.all([a.waitFor(/^published /), b.waitFor(/^published /)]);
  t.equal(pa, pb, 'both see the same rootfs');
  const path = pa.slice('published '.length);
  t.match(await readFile(join(path, 'etc', 'who'), 'utf8'), /^[ab]$/, 'one complete entry, from one of them');
  t.same(await readdir(join(dir, 'images')), [A.replace(':', '-')]);
  await Promise.all([a.exited, b.exited]);
  t.same(await readdir(join(dir, 'tmp')), [], 'the loser cleaned up');
});

t.test('two concurrent pulls of one image build it once', async (t) => {
  const { dir, base } = await tempCache(t);
  await new Cache(dir).init();
  const work = join(base, 'work-log');
  const pull = (name: string) =>
    new Child(`${buildEntry(dir, name)}
      say('ready');
      await next();
      const path = await cache.withLock(lockNames.image(meta.digest), async () => {
        const hit = await cache.get(meta.digest);
        if (hit) return hit.path;
        await appendFile(${JSON.stringify(work)}, ${JSON.stringify(name)} + '\\n');
        return cacheWriter(cache).publishEntry(await build(), meta);
      });
      say('done ' + path);
    `);
  const a = pull('a');
  const b = pull('b');
  t.teardown(() => Promise.all([a.kill(), b.kill()]));
  await Promise.all([a.waitFor(/^ready$/), b.waitFor(/^ready$/)]);
  a.send('go');
  b.send('go');
  const [da, db] = await Promise.all([a.waitFor(/^done /), b.waitFor(/^done /)]);
  t.equal(da, db);
  t.equal((await readFile(work, 'utf8')).trim().split('\n').length, 1, 'the work was done once');
});

t.test('a pull killed mid-way leaves nothing visible; the next one takes over and cleans up', async (t) => {
  const { dir } = await tempCache(t, { lockStaleMs: 2000 });
  await new Cache(dir).init();
  const victim = new Child(`${buildEntry(dir, 'victim', { lockStaleMs: 2000 })}
    await cache.hold(meta.digest);
    await cache.withLock(lockNames.image(meta.digest), async () => {
      const tmp = await build();
      say('working ' + tmp);
      await new Promise(() => {});
    });
  `);
  t.teardown(() => victim.kill());
  const leftover = (await victim.waitFor(/^working /)).slice('working '.length);
  await victim.kill();
  const cache = new Cache(dir, { lockStaleMs: 2000 });
  t.equal(await cache.get(A), undefined, 'no partial entry is visible');
  await t.rejects(lstat(leftover), { code: 'ENOENT' }, 'opening the cache removed the dead pull\'s tmp dir');
  const next = new Child(`${buildEntry(dir, 'next', { lockStaleMs: 2000 })}
    const path = await cache.withLock(lockNames.image(meta.digest), async () => cacheWriter(cache).publishEntry(await build(), meta), { timeoutMs: 20000 });
    await cacheWriter(cache).recordRef('app', { digest: meta.digest });
    say('done ' + path);
  `);
  t.teardown(() => next.kill());
  const path = (await next.waitFor(/^done /)).slice('done '.length);
  t.equal(await readFile(join(path, 'etc', 'who'), 'utf8'), 'next');
  t.equal((await cache.lookupRef('app'))?.digest, A);
  t.same((await cache.gc()).removed, [], 'the dead pull\'s hold protects nothing and nothing is left to sweep');
});
