import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  buildHostileImage,
  ESCAPE_MARKER,
  findEscapes,
  hostileCorpus,
  inspectCacheDir,
  makeVictim,
  pushImage,
  sharedInodes,
  snapshotTree,
  startRegistry,
  tempDir,
  victimChanges,
  victimState,
  type HostileCase,
} from '@broodbox/testkit';
import { Cache } from '../../src/cache/cache.js';
import { pullWithFetcher, type PullResult } from '../../src/pull/pull.js';

// Every hostile image of the corpus, pushed to a real registry and pulled through the public entry
// point into its own cache: a clear error or a safe rootfs, and nothing outside that rootfs touched.

const ROOTFS_RE = /^caches\/[^/]+\/images\/[^/]+\/rootfs(\/|$)/;
const CODE_RE = /^[A-Z][A-Z0-9_]+$/;

const reg = await startRegistry();
t.teardown(() => reg.stop());
const base = await tempDir(t, 'bbox-hostile-corpus-');
const victim = join(base, 'victim');
await makeVictim(victim);
const corpus = hostileCorpus({ victim });
const hostRootBefore = (await readdir('/')).filter((n) => n.startsWith(ESCAPE_MARKER));
const outcomes = { refused: 0, contained: 0, applied: 0 };

async function pullCase(c: HostileCase, cacheDir: string): Promise<PullResult | Error> {
  const img = buildHostileImage(c);
  await pushImage(reg.url, `hostile/${c.name}`, img, { tag: 'v1' });
  try {
    return await pullWithFetcher(`${reg.host}/hostile/${c.name}:v1`, {
      cache: new Cache(cacheDir),
      platform: 'linux/amd64',
      ...(c.limits ? { limits: c.limits } : {}),
    });
  } catch (err) {
    return err as Error;
  }
}

/** Only layers whose content really hashes to their name may be in the store. */
function trueDiffIDs(c: HostileCase): Set<string> {
  return new Set(buildHostileImage(c).layers.map((l) => l.diffID.replace(':', '-')));
}

async function checkCache(t: Test, c: HostileCase, cacheDir: string, pulled: boolean): Promise<void> {
  t.same((await inspectCacheDir(cacheDir)).tmp, [], 'tmp/ is empty once the pull has settled');
  const inv = await inspectCacheDir(cacheDir);
  t.same(inv.problems, [], 'no partial entry and no ref to a missing entry');
  t.equal(inv.entries.length, pulled ? 1 : 0, pulled ? 'one complete entry' : 'no entry');
  t.equal(inv.refs.length, pulled ? 1 : 0, pulled ? 'one ref' : 'no ref recorded');
  const stored = (await readdir(join(cacheDir, 'layers')).catch(() => [] as string[])).filter((n) => !n.endsWith('.json'));
  const valid = trueDiffIDs(c);
  t.same(stored.filter((n) => !valid.has(n)), [], 'the layer store holds only layers verified under their true diffID');
}

async function checkRootfs(t: Test, c: HostileCase, got: PullResult): Promise<void> {
  const tree = await snapshotTree(got.path);
  const special = tree.filter((e) => e.type === 'char' || e.type === 'block' || e.type === 'fifo' || e.type === 'socket');
  t.same(special.map((e) => e.path), [], 'no device node, fifo or socket in the rootfs');
  t.same(await sharedInodes(got.path, [victim]), [], 'no rootfs file is a host file');
  const present = c.expect.kind === 'contained' ? (c.expect.present ?? []) : [];
  const paths = new Set(tree.map((e) => e.path));
  for (const p of present) t.ok(paths.has(p), `${p} is in the rootfs (the layer was applied)`);
}

for (const c of corpus) {
  t.test(`${c.name}: ${c.threat}`, async (t) => {
    const cacheDir = join(base, 'caches', c.name);
    await mkdir(join(base, 'caches'), { recursive: true });
    const before = await victimState(victim);
    const got = await pullCase(c, cacheDir);

    if (got instanceof Error) {
      const code = (got as Error & { code?: unknown }).code;
      t.match(String(code), CODE_RE, `a named error (${String(code)}: ${got.message})`);
      t.ok(got.message.length > 20, 'the message explains');
      if (c.expect.kind === 'refused') t.ok(c.expect.codes.includes(String(code)), `refused with one of ${c.expect.codes.join(', ')}`);
      if (c.expect.kind === 'refused') outcomes.refused++;
      else outcomes.contained++;
    } else {
      t.not(c.expect.kind, 'refused', `the image must be refused (${c.expect.kind === 'refused' ? c.expect.codes.join(', ') : ''}) but the pull succeeded`);
      await checkRootfs(t, c, got);
      outcomes.applied++;
    }

    t.same(victimChanges(before, await victimState(victim)), [], 'the host victim directory is unchanged');
    t.same(await findEscapes(base, (rel) => ROOTFS_RE.test(rel)), [], 'no escape marker anywhere outside a rootfs');
    t.same((await readdir('/')).filter((n) => n.startsWith(ESCAPE_MARKER)), hostRootBefore, 'nothing planted in /');
    await checkCache(t, c, cacheDir, !(got instanceof Error));
  });
}

t.test('summary', async (t) => {
  t.equal(outcomes.refused + outcomes.contained + outcomes.applied, corpus.length, 'every case ran');
  t.comment(`hostile corpus: ${corpus.length} images, ${outcomes.refused} refused as required, ${outcomes.contained} stopped with a named error, ${outcomes.applied} applied safely`);
});
