// The shared root (the rootfs over virtio-fs): two images that share their base layer boot at the
// same time from one copy of it, a run adds next to nothing to the cache, and `bbox cache gc`
// removes the root disks this host no longer boots from (its own, and an older version's).
import t from 'tap';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, makeLayer, pushImage } from '@broodbox/testkit';
import { busyboxLayer, runFixture } from './run-fixture.js';

t.test('two images sharing a base layer run at once from one copy; gc removes the disks nothing boots from', async (t) => {
  const fx = await runFixture(t);
  const base = busyboxLayer('base');
  const top = (name: string) => makeLayer([{ path: 'etc/', type: 'dir' }, { path: `etc/${name}`, type: 'file', content: `${name}\n` }]);
  await pushImage(fx.reg.url, 'share/a', buildImage({ layers: [base, top('a')], config: { Cmd: ['sh'] } }), { tag: '1' });
  await pushImage(fx.reg.url, 'share/b', buildImage({ layers: [base, top('b')], config: { Cmd: ['sh'] } }), { tag: '1' });
  const [a, b] = ['a', 'b'].map((n) => `${fx.reg.host}/share/${n}:1`) as [string, string];
  const bbox = (args: string[], env: Record<string, string> = {}) => fx.sb.run(args, { env: { ...fx.env, ...env } });

  const pulled = await bbox(['pull', '--json', '--cache-dir', fx.sb.cacheDir, a, b]);
  t.equal(pulled.code, 0, pulled.stderr);
  // One line per ref, in the order the pulls finish.
  const lines = pulled.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ref: string; rootfs: string; digest: string });
  const [ra, rb] = [a, b].map((ref) => lines.find((l) => l.ref === ref));
  t.equal(statSync(join(ra!.rootfs, 'bin/busybox')).ino, statSync(join(rb!.rootfs, 'bin/busybox')).ino, 'both rootfs hold the base layer as one set of files');
  const sizeAfterPull = await cacheBytes();

  // Both at once: each guest sees its own top layer, and its writes stay its own.
  const script = (n: string) => `cat /etc/${n}; echo mine-${n} > /etc/marker; cat /etc/marker; ls /etc`;
  const [runA, runB] = await Promise.all([bbox(fx.runArgs([a, '--', 'sh', '-c', script('a')])), bbox(fx.runArgs([b, '--', 'sh', '-c', script('b')]))]);
  t.equal(runA.code, 0, runA.stderr);
  t.equal(runB.code, 0, runB.stderr);
  t.equal(runA.stdout, 'a\nmine-a\na\nmarker\npasswd\n');
  t.equal(runB.stdout, 'b\nmine-b\nb\nmarker\npasswd\n');
  const grown = (await cacheBytes()) - sizeAfterPull;
  t.ok(grown >= 0 && grown < 64 << 10, `two first runs added ${grown} bytes to the cache (no disk images)`);

  // A disk root as this host would make it where virtiofsd cannot run, and one of an older version.
  const diskRun = await bbox(fx.runArgs([a, '--', 'true']), { BBOX_VM_ROOT: 'disk' });
  t.equal(diskRun.code, 0, diskRun.stderr);
  const entryA = join(ra!.rootfs, '..');
  writeFileSync(join(entryA, 'rootfs.ext4'), Buffer.alloc(1 << 20));
  t.ok(existsSync(join(entryA, 'disk.ext4')), 'the disk run left its disk beside the entry');

  const keep = await bbox(['cache', 'gc', '--json', '--cache-dir', fx.sb.cacheDir], { BBOX_VM_ROOT: 'disk' });
  t.equal(keep.code, 0, keep.stderr);
  const kept = JSON.parse(keep.stdout) as { removed: Array<{ kind: string; id: string; bytes: number }> };
  t.same(kept.removed.map((r) => r.id), [`${ra!.digest}/rootfs.ext4`], 'where the root is a disk, gc keeps the disk and removes the older version');
  t.ok(existsSync(join(entryA, 'disk.ext4')));

  const gc = await bbox(['cache', 'gc', '--json', '--cache-dir', fx.sb.cacheDir]);
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { removed: Array<{ kind: string; id: string; bytes: number }>; bytesFreed: number };
  t.same(report.removed.map((r) => `${r.kind} ${r.id}`), [`artifact ${ra!.digest}/disk.ext4`], 'with a shared root, the disk goes');
  t.ok(report.bytesFreed > 1 << 20, `its space is given back (${report.bytesFreed} bytes)`);
  t.same(readdirSync(entryA).filter((n) => n.includes('ext4')), [], 'no disk left beside the entry');
  t.ok(existsSync(ra!.rootfs) && existsSync(rb!.rootfs), 'the entries stay');
  const again = await bbox(fx.runArgs([a, '--', 'cat', '/etc/a']));
  t.equal(again.stdout, 'a\n', 'and still boot');

  async function cacheBytes(): Promise<number> {
    const list = await bbox(['cache', 'list', '--json', '--cache-dir', fx.sb.cacheDir]);
    return (JSON.parse(list.stdout) as { summary: { totalBytes: number } }).summary.totalBytes;
  }
});
