import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startRegistry } from '@broodbox/testkit';
import { Cache, pullWithFetcher } from '@broodbox/image';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

// `bbox cache verify` exit codes over a cache the library filled: 0 when intact, 1 while damaged
// (also when it repaired it), 0 once the image is pulled again.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());

t.test('bbox cache verify: 0 when intact, 1 while damaged (also when repaired), 0 after repair', async (t) => {
  await push(reg, 'verify/exit', 'v1', appImage('1'));
  const ref = `${reg.host}/verify/exit:v1`;
  const cache = new Cache(sb.cacheDir);
  const pulled = await pullWithFetcher(ref, { cache, platform: 'linux/amd64' });
  const verify = (...args: string[]) => sb.run(['cache', 'verify', '--cache-dir', sb.cacheDir, ...args]);

  const clean = await verify();
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /1 checked, 0 damaged/);

  await rm(join(pulled.path, 'etc/version'));
  await writeFile(join(pulled.path, 'extra'), 'x');
  const damaged = await verify('--json', pulled.digest);
  t.equal(damaged.code, 1);
  const report = JSON.parse(damaged.stdout) as { entries: Array<{ ok: boolean; problems: Array<{ kind: string; path: string }> }> };
  t.same(
    report.entries[0]?.problems.filter((p) => p.kind !== 'changed').map((p) => `${p.kind} ${p.path}`),
    ['missing etc/version', 'extra extra'],
  );

  const repaired = await verify('--repair');
  t.equal(repaired.code, 1, 'damage was found, even though it was repaired');
  t.match(repaired.stdout, /DAMAGED \(repaired\)/);
  t.match(repaired.stdout, /missing\s+etc\/version/);
  // --repair removes the damaged entry and pulls its ref again: the entry is back, intact.
  t.equal(await cache.hasEntry(pulled.digest), true, 'the ref was pulled again');
  t.equal((await cache.lookupRef(ref))?.digest, pulled.digest);
  const after = await verify();
  t.equal(after.code, 0, after.stdout);
});
