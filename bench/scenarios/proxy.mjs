// Issue 14: a cold pull from a TLS registry through a forward proxy (tinyproxy, a CONNECT tunnel)
// against the same cold pull straight to the registry. Both sides speak TLS to the same registry
// (its storage is a copy of the bench image); only the path differs.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPullOutput, sampleOf, timeBbox } from '../lib/bbox.mjs';
import { cliSide } from '../lib/cli-side.mjs';
import { interleave, ratio, reasonOf } from '../lib/interleave.mjs';
import { runQuiet } from '../lib/measure.mjs';
import { atMost, makeRow, notMeasuredRow } from '../lib/rows.mjs';
import { makeTestCa, startForwardProxy, startRegistry } from '../../packages/testkit/dist/index.js';

const ID = 'proxy';
const SCENARIO = 'cold pull through a forward proxy (tinyproxy, CONNECT) vs direct, both TLS';
const TARGET = '≤ 1.1x direct';
// Not a loopback literal (those are never proxied): the proxy resolves it through its own /etc/hosts.
const NAME = 'bench-registry.test';

async function tlsCopyOf(ctx, dir, image) {
  const ca = await makeTestCa(dir);
  const cert = await ca.server(NAME, [NAME, '127.0.0.1']);
  const data = join(dir, 'data');
  const plain = await startRegistry({ dataDir: data });
  try {
    const path = image.ref.slice(image.ref.indexOf('/') + 1);
    await runQuiet(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${image.ref}`, `docker://${plain.host}/${path}`]);
  } finally {
    await plain.stop();
  }
  const tls = await startRegistry({ dataDir: data, tls: { certificate: cert.cert, key: cert.key } });
  return { ca, tls, path: image.ref.slice(image.ref.indexOf('/') + 1) };
}

function side(ctx, id, label, image, ref, config, proxy) {
  return cliSide(ctx, id, label, async (dir) => {
    const before = proxy ? (await proxy.requests()).length : 0;
    const res = await timeBbox(ctx, ['pull', '--config', config, '--json', '--cache-dir', join(dir, 'cache'), ref], {
      layerDigests: image.layers.map((l) => l.digest),
      treeRss: true,
    });
    checkPullOutput(res.stdout, { digest: image.digest, fromCache: false });
    const tunnels = proxy ? (await proxy.requests()).slice(before).filter((r) => r.startsWith('CONNECT')).length : 0;
    return sampleOf(res, { proxyTunnels: tunnels });
  });
}

export async function proxyPull(ctx) {
  const image = ctx.synthetic.images['syn-v1'];
  const { runs, warmup } = ctx.plan.medium;
  const dir = join(ctx.workDir, 'proxy');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let copy;
  let proxy;
  try {
    copy = await tlsCopyOf(ctx, dir, image);
    proxy = await startForwardProxy({ connectPorts: [copy.tls.port], hosts: { [NAME]: '127.0.0.1' } });
  } catch (err) {
    await copy?.tls.stop();
    return [notMeasuredRow(ID, SCENARIO, TARGET, reasonOf(err))];
  }
  try {
    const direct = join(dir, 'direct.yaml');
    const viaProxy = join(dir, 'proxy.yaml');
    await writeFile(direct, `proxy:\n  https: ${proxy.url}\nregistries:\n  "${copy.tls.host}":\n    tls:\n      ca: ${copy.ca.cert}\n`);
    await writeFile(viaProxy, `proxy:\n  https: ${proxy.url}\nregistries:\n  "${NAME}:${copy.tls.port}":\n    tls:\n      ca: ${copy.ca.cert}\n`);
    ctx.log(`cold pull through tinyproxy (${proxy.url}) vs direct, TLS registry ${copy.tls.host}`);
    const [through, straight] = await interleave({
      sides: [
        side(ctx, 'bbox', 'bbox pull through tinyproxy (CONNECT tunnel)', image, `${NAME}:${copy.tls.port}/${copy.path}`, viaProxy, proxy),
        side(ctx, 'bbox-direct', 'bbox pull from the same TLS registry directly (loopback)', image, `${copy.tls.host}/${copy.path}`, direct, undefined),
      ],
      runs,
      warmup,
      log: ctx.log,
      deadline: ctx.deadline,
    });
    const r = ratio(through, straight);
    return [
      makeRow({
        id: ID,
        scenario: `${SCENARIO} (${copy.path})`,
        target: TARGET,
        bbox: through,
        peers: [straight],
        figures: { ratioVsDirect: r, tunnelsPerPull: through.extra?.proxyTunnels?.max },
        checks: [atMost('through the proxy vs direct', r, 1.1)],
        notes: [
          'The direct side is a loopback literal, so it is never proxied (same config, same proxy setting); it pays one plain-HTTP request before it learns the registry speaks TLS.',
        ],
      }),
    ];
  } finally {
    await proxy.stop();
    await copy.tls.stop();
  }
}
