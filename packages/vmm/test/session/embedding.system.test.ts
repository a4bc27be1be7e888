// The embedding example of docs/vm.md, run as written: a script that imports only
// @broodbox/image and @broodbox/vmm runs an image from a real registry in a real QEMU VM.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cache } from '@broodbox/image';
import { buildImage, makeLayer, pushImage, startRegistry } from '@broodbox/testkit';
import { kernelDir } from '../guest-kernel.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** The code block between the embedding-example markers of docs/vm.md. */
function docExample(): string {
  const doc = readFileSync(join(repo, 'docs/vm.md'), 'utf8');
  const m = /<!-- embedding-example:start -->\n```js\n([\s\S]*?)```\n<!-- embedding-example:end -->/.exec(doc);
  if (!m) throw new Error('docs/vm.md has no embedding example between the markers');
  return m[1] as string;
}

t.test('the embedding example of docs/vm.md runs an image with the libraries alone', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const layer = makeLayer([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync('/bin/busybox') },
    ...['sh', 'hostname', 'wc'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'tmp/', type: 'dir' },
  ]);
  await pushImage(reg.url, 'embed/busybox', buildImage({ layers: [layer] }), { tag: '1' });

  // A directory outside the workspace whose node_modules has the two libraries and nothing else.
  const dir = t.testdir({ home: {}, cache: {} });
  mkdirSync(join(dir, 'node_modules', '@broodbox'), { recursive: true });
  for (const lib of ['image', 'vmm']) symlinkSync(join(repo, 'packages', lib), join(dir, 'node_modules', '@broodbox', lib));
  writeFileSync(join(dir, 'embed.mjs'), docExample());
  const cacheDir = join(dir, 'cache');
  const { stdout } = await promisify(execFile)(process.execPath, ['embed.mjs', `${reg.host}/embed/busybox:1`], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'home', '.cache'), BBOX_KERNEL_DIR: kernelDir(), IMAGE_CACHE: cacheDir },
    timeout: 240_000,
  });
  t.match(stdout, /^hello from bbox-[0-9a-f]{6}\nexit code 3\nwc -l said 2 and exited 0\n$/, 'both forms ran the command in the guest');

  const listing = await new Cache(cacheDir).list();
  t.equal(listing.entries.length, 1);
  t.same(listing.entries[0]?.artifacts, ['guest-owners.sh'], 'the root is shared: only the owners script is kept beside the entry');
  t.equal(listing.entries[0]?.hasDisk, false, 'no disk image');
  t.equal(listing.entries[0]?.held, false, 'no hold is left once the runs are over');
});
