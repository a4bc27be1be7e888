import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';
import { HANDED_OFF, entryOnlyCopy } from '../entry-copy.js';

// `bbox images` starts from its bundle (dist/images-entry.cjs), like `bbox pull`: what the bundle
// answers needs no other file of the package, and anything else goes to the full command line.

const pkg = fileURLToPath(new URL('../..', import.meta.url));

t.test('the bundle lists the cache on its own, prints what the full command line prints, and hands off the rest', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  await push(reg, 'entry/imgs', 'v1', appImage('e1'));
  t.equal((await sb.run(['pull', '--cache-dir', sb.cacheDir, `${reg.host}/entry/imgs:v1`])).code, 0);

  const bin = await entryOnlyCopy(join(sb.root, 'entry-only'), 'images-entry.cjs');
  const full = (args: string[]) => sb.run(args, { bin: join(pkg, 'dist', 'main.js') });
  for (const args of [['images'], ['images', '--json'], ['images', '--all', `${reg.host}/entry/*`]]) {
    const withCache = [...args, '--cache-dir', sb.cacheDir];
    const viaEntry = await sb.run(withCache, { bin });
    t.equal(viaEntry.code, 0, viaEntry.stderr);
    t.not(viaEntry.stdout, HANDED_OFF, `${args.join(' ')} is answered by the bundle`);
    const viaFull = await full(withCache);
    // LAST USED may tick between the two runs only in text; --json compares whole.
    t.equal(viaEntry.stdout.replace(/just now|\d+ min ago/g, 'T'), viaFull.stdout.replace(/just now|\d+ min ago/g, 'T'), `${args.join(' ')}: same output`);
  }
  for (const args of [['images', '--help'], ['images', '--bogus'], ['images', '--json', '--json']]) {
    const r = await sb.run([...args, '--cache-dir', sb.cacheDir], { bin });
    t.same({ code: r.code, stdout: r.stdout }, { code: 7, stdout: HANDED_OFF }, `${args.join(' ')}: handed off`);
  }
  // A config file never validated before needs the validator, which the bundle leaves out.
  await sb.write(join(sb.project, '.broodbox.yaml'), `cache:\n  dir: ${sb.cacheDir}\n`);
  const fresh = await sb.run(['images'], { bin });
  t.same({ code: fresh.code, stdout: fresh.stdout, stderr: fresh.stderr }, { code: 7, stdout: HANDED_OFF, stderr: '' }, 'a new config file: handed off, nothing printed first');
});
