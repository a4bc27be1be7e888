import type { Test } from 'tap';
import { lstat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, makeLayer, pushImage, startProxy, startRegistry, tempDir, type BuiltImage } from '@broodbox/testkit';
import { Cache } from '../../src/index.js';

/** A base layer with the shapes verification and cloning must handle. */
export const baseLayer = makeLayer([
  { path: 'etc/', type: 'dir', mtime: 1_600_000_000 },
  { path: 'etc/os-release', type: 'file', content: 'ID=bboxtest\n', mtime: 1_600_000_001 },
  { path: 'etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\n', mtime: 1_600_000_002 },
  { path: 'bin/', type: 'dir', mode: 0o755, mtime: 1_600_000_003 },
  { path: 'bin/tool', type: 'file', mode: 0o4755, content: '#!/bin/sh\necho tool\n', mtime: 1_600_000_004 },
  { path: 'bin/tool-alias', type: 'hardlink', linkname: 'bin/tool' },
  { path: 'bin/sh', type: 'symlink', linkname: 'tool', mtime: 1_600_000_005 },
  { path: 'usr/', type: 'dir', mtime: 1_600_000_006 },
  { path: 'usr/share/', type: 'dir', mode: 0o750, uid: 12, gid: 34, mtime: 1_600_000_007 },
  { path: 'usr/share/doc', type: 'file', mode: 0o600, uid: 12, gid: 34, content: 'docs\n', mtime: 1_600_000_008 },
  { path: 'var/', type: 'dir', mode: 0o1777, mtime: 1_600_000_009 },
]);

export const appLayer = (v: string) =>
  makeLayer([
    { path: 'app/', type: 'dir', mtime: 1_600_000_100 },
    { path: 'app/version', type: 'file', content: `${v}\n`, mtime: 1_600_000_101 },
  ]);

export const appImage = (v: string): BuiltImage => buildImage({ layers: [baseLayer, appLayer(v)], config: { Cmd: ['/bin/tool'] } });

/** A real registry behind a counting proxy, a fresh cache, and the ref to push to. */
export async function setupRegistry(t: Test) {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const proxy = await startProxy({ target: reg.url });
  t.teardown(() => proxy.stop());
  const dir = await tempDir(t, 'bbox-verify-');
  const cache = new Cache(join(dir, 'cache'));
  const ref = `${proxy.host}/test/app:latest`;
  const push = (img: BuiltImage) => pushImage(reg.url, 'test/app', img, { tag: 'latest' });
  const blobGets = (digest: string) => proxy.count({ method: 'GET', path: new RegExp(digest) });
  return { reg, proxy, cache, dir, ref, push, blobGets };
}

/**
 * Waits until the file system clock has moved past the ctime of `file` (timestamps come from a
 * coarse clock, so a change in the same tick as the seal would carry the same time).
 */
export async function clockPast(file: string, scratch: string): Promise<void> {
  const limit = (await lstat(file, { bigint: true })).ctimeNs;
  await writeFile(scratch, '');
  for (;;) {
    await utimes(scratch, new Date(), new Date());
    if ((await lstat(scratch, { bigint: true })).ctimeNs > limit) return;
  }
}

/** `kind path field` lines of a problem list, for exact comparisons. */
export function lines(problems: Array<{ kind: string; path: string; field?: string }>): string[] {
  return problems.map((p) => `${p.kind} ${p.path}${p.field ? ` ${p.field}` : ''}`);
}
