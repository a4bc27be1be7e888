// A second CNCF distribution instance in proxy mode (a pull-through mirror) in front of the bench
// registry, on a free loopback port, logging to a file the harness reads.
import { spawn } from 'node:child_process';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { registryUp } from './registry-http.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startProxyRegistry({ dir, upstreamUrl }) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'data'))}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'proxy:',
      `  remoteurl: ${JSON.stringify(upstreamUrl)}`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'registry.log');
  const fh = await open(logFile, 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', fh.fd, fh.fd] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  while (!(await registryUp(url))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGTERM');
      await fh.close();
      throw new Error(`the proxy-mode registry did not come up on ${url} (see ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    logFile,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await fh.close();
    },
  };
}
