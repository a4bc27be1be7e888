// A second CNCF distribution instance in proxy mode (a pull-through mirror) in front of the bench
// registry, on a free loopback port, logging to a file the harness reads: the harness registry of
// the tests, with its storage and access log kept under `dir`.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry } from '../../packages/testkit/dist/index.js';

export async function startProxyRegistry({ dir, upstreamUrl }) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, 'registry.log');
  const registry = await startRegistry({ proxy: { remoteurl: upstreamUrl }, dataDir: join(dir, 'data'), logFile });
  return { url: registry.url, host: registry.host, logFile, stop: () => registry.stop() };
}
