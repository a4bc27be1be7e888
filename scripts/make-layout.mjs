#!/usr/bin/env node
// Writes a small busybox image as an OCI image layout, for trying bbox without a registry:
//   node scripts/make-layout.mjs DIR     then     pnpm exec bbox pull oci-layout:DIR:latest
// Needs a built workspace (pnpm run build) and /bin/busybox (scripts/setup.sh installs it).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildImage, makeLayer, writeOciLayout } from '../packages/testkit/dist/index.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/make-layout.mjs DIR\n');
  process.exit(2);
}
const applets = ['sh', 'ls', 'cat', 'echo', 'uname', 'id', 'env', 'true'];
const layer = makeLayer([
  ...['bin', 'etc', 'tmp', 'root'].map((p) => ({ path: `${p}/`, type: 'dir', mode: p === 'tmp' ? 0o1777 : 0o755 })),
  { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync('/bin/busybox') },
  ...applets.map((a) => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
  { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
]);
const image = buildImage({ layers: [layer], config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] } });
await writeOciLayout(resolve(dir), [{ tag: 'latest', image }]);
process.stdout.write(`wrote ${image.digest} to ${resolve(dir)} as tag latest\n`);
