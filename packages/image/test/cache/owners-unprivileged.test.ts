// An unprivileged pull: its rootfs belongs to the user on disk, yet Cache.imageOwners gives the
// image's owners, equal to the tree a pull made as root. A cache belongs to one user: another
// user (root included) gets an error naming the directory and its owner, and nothing is written.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ensureTestUser, giveTo, ownersImage, pushImage, runNodeAs, startRegistry, tempDir } from '@broodbox/testkit';
import { Cache, pullWithFetcher, type OwnedPath } from '../../src/index.js';

type Stat = Pick<OwnedPath, 'path' | 'type' | 'uid' | 'gid' | 'mode'>;

/** lstat of every path under `root` (root-relative, `''` the root), parents first, siblings sorted. */
async function walk(root: string): Promise<Stat[]> {
  const out: Stat[] = [];
  const visit = async (abs: string, path: string): Promise<void> => {
    const st = await lstat(abs);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'fifo';
    out.push({ path, type, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 });
    if (!st.isDirectory()) return;
    for (const name of (await readdir(abs)).sort()) await visit(join(abs, name), path === '' ? name : `${path}/${name}`);
  };
  await visit(root, '');
  return out;
}

const pick = (e: OwnedPath): Stat => ({ path: e.path, type: e.type, uid: e.uid, gid: e.gid, mode: e.mode });

const srcDir = new URL('../../src/', import.meta.url).pathname;
const src = join(srcDir, 'index.ts');

/** A script the user runs: one bundled file, so nothing is read from the checkout. */
async function bundle(work: string, name: string, source: string): Promise<string> {
  const entry = join(work, `${name}-entry.mjs`);
  const out = join(work, `${name}.mjs`);
  await writeFile(entry, source);
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
  await chmod(out, 0o644);
  // The worker threads load from files beside the module that starts them: beside the bundle here.
  for (const thread of ['layers/store-thread', 'compose/plan-thread', 'verify/fs-thread']) {
    const threadOut = join(work, `${thread.split('/')[1]!}.js`);
    await build({ entryPoints: [join(srcDir, `${thread}.ts`)], outfile: threadOut, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
    await chmod(threadOut, 0o644);
  }
  return out;
}


t.test('the owners recorded by an unprivileged pull equal the tree of a pull made as root', async (t) => {
  const user = ensureTestUser();
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const pushed = await pushImage(reg.url, 'owners/lib', ownersImage(), { tag: '1' });
  const ref = `${reg.host}/owners/lib:1`;
  const work = await tempDir(t, 'bbox-owners-lib-');
  execFileSync('chmod', ['0755', work]);

  const rootCache = new Cache(join(work, 'root-cache'));
  const asRoot = await pullWithFetcher(ref, { cache: rootCache });
  const rootTree = await walk(asRoot.path);

  const home = join(work, 'home');
  giveTo(user, home);
  const script = await bundle(
    work,
    'pull',
    `import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
const { Cache, pullWithFetcher } = await import(${JSON.stringify(src)});
const cache = new Cache(process.argv[2]);
const rootfs = await pullWithFetcher(process.argv[3], { cache });
const owners = await cache.imageOwners(rootfs.digest);
const shadow = await lstat(join(rootfs.path, 'etc/shadow'));
const report = await cache.verify();
const removed = await cache.removeEntry(rootfs.digest);
console.log(JSON.stringify({ digest: rootfs.digest, entries: owners.entries, lookup: owners.get('/etc/shadow'), onDisk: { uid: shadow.uid, gid: shadow.gid }, verified: report.entries.map((e) => e.ok), problems: report.entries.flatMap((e) => e.problems), removed }));
`,
  );
  const child = await runNodeAs(user, script, [join(home, 'cache'), ref], { env: { HOME: home, PATH: '/usr/bin:/bin' }, cwd: home });
  t.equal(child.code, 0, child.stderr);
  const got = JSON.parse(child.stdout) as {
    digest: string;
    entries: OwnedPath[];
    lookup: OwnedPath;
    onDisk: { uid: number; gid: number };
    verified: boolean[];
    problems: unknown[];
    removed: boolean;
  };
  t.equal(got.digest, pushed.digest);
  t.same(got.onDisk, { uid: user.uid, gid: user.gid }, 'on disk, the unprivileged rootfs belongs to the user');
  t.same(got.lookup, { path: 'etc/shadow', type: 'file', uid: 0, gid: 42, mode: 0o640 }, 'a lookup by path gives the image owner');
  t.same(got.verified, [true], `the user's entry verifies, a 0000 file and a 0550 directory included: ${JSON.stringify(got.problems)}`);
  t.equal(got.removed, true, 'and the user can remove it again');

  const special = (e: OwnedPath) => e.type === 'char' || e.type === 'block' || e.type === 'fifo';
  t.same(got.entries.filter((e) => !special(e)).map(pick), rootTree, 'every file, directory and symlink: type, owner, group and mode as root unpacked them');
  t.same(
    got.entries.filter(special),
    [
      { path: 'var/loop9', type: 'block', uid: 0, gid: 6, mode: 0o660, major: 7, minor: 9 },
      { path: 'var/null', type: 'char', uid: 0, gid: 0, mode: 0o666, major: 1, minor: 3 },
      { path: 'var/pipe', type: 'fifo', uid: 42, gid: 42, mode: 0o620 },
    ],
    'devices and FIFOs, which no rootfs holds, are recorded with their numbers',
  );
  t.same(got.entries, (await rootCache.imageOwners(asRoot.digest)).entries, "root's records are the same");
});

t.test('a cache of another user is refused, naming the directory and its owner, and nothing is written', async (t) => {
  const user = ensureTestUser();
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'owners/mixed', ownersImage(), { tag: '1' });
  const ref = `${reg.host}/owners/mixed:1`;
  const work = await tempDir(t, 'bbox-owners-mixed-');
  execFileSync('chmod', ['0755', work]);
  const home = join(work, 'home');
  giveTo(user, home);
  const script = await bundle(
    work,
    'try',
    `const { Cache, pullWithFetcher } = await import(${JSON.stringify(src)});
try {
  await pullWithFetcher(process.argv[3], { cache: new Cache(process.argv[2]) });
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, name: err.name, message: err.message }));
}
`,
  );
  const env = { HOME: home, PATH: '/usr/bin:/bin' };
  const listing = (dir: string) => execFileSync('find', [dir, '-printf', '%P %u %m\\n'], { encoding: 'utf8' }).split('\n').sort();

  // Made by root, used by the user: root's cache is 0700, so the user is told whose it is, not EACCES.
  const rootCache = join(work, 'root-cache');
  await pullWithFetcher(ref, { cache: new Cache(rootCache) });
  await chmod(rootCache, 0o755);
  const before = listing(rootCache);
  const asUser = await runNodeAs(user, script, [rootCache, ref], { env, cwd: home });
  t.equal(asUser.code, 0, asUser.stderr);
  const refused = JSON.parse(asUser.stdout) as { code: string; name: string; message: string };
  t.equal(refused.code, 'CACHE_DIR_INVALID');
  t.equal(refused.name, 'CacheOwnerError');
  t.match(refused.message, `cache directory ${rootCache} belongs to root (uid 0), not to ${user.name} (uid ${user.uid})`);
  t.same(listing(rootCache), before, "root's cache is untouched");

  // Made by the user, used by root.
  const userCache = join(home, 'cache');
  const made = await runNodeAs(user, script, [userCache, ref], { env, cwd: home });
  t.same(JSON.parse(made.stdout), { ok: true }, made.stderr);
  const userBefore = listing(userCache);
  const err = await pullWithFetcher(ref, { cache: new Cache(userCache), policy: 'always' }).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  t.equal(err?.code, 'CACHE_DIR_INVALID');
  t.match(err?.message, `cache directory ${userCache} belongs to ${user.name} (uid ${user.uid}), not to root (uid 0)`);
  t.same(listing(userCache), userBefore, "the user's cache is untouched");

  // A subdirectory someone else made (root wrote into the user's cache before this check existed).
  execFileSync('chown', ['root:root', join(userCache, 'tmp')]);
  const sub = await runNodeAs(user, script, [userCache, ref], { env, cwd: home });
  t.match(JSON.parse(sub.stdout), { code: 'CACHE_DIR_INVALID', message: /has tmp\/, which belongs to root \(uid 0\)/ });
});

