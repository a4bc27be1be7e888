// Describes the machine a run happened on, so figures can be compared across runs.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { runQuiet } from './measure.mjs';

async function firstLine(argv) {
  try {
    const { stdout, stderr } = await runQuiet(argv, { allowFailure: true });
    return (stdout || stderr).trim().split('\n')[0];
  } catch {
    return 'not installed';
  }
}

async function cpuModel() {
  try {
    const text = await readFile('/proc/cpuinfo', 'utf8');
    return /model name\s*:\s*(.+)/.exec(text)?.[1]?.trim() ?? os.cpus()[0]?.model;
  } catch {
    return os.cpus()[0]?.model;
  }
}

async function disk(dir) {
  const { stdout } = await runQuiet(['df', '-PT', '-k', dir], { allowFailure: true });
  const cols = stdout.trim().split('\n')[1]?.split(/\s+/) ?? [];
  const device = cols[0];
  let rotational;
  const base = device?.match(/^\/dev\/([a-z]+)/)?.[1];
  if (base) {
    try {
      rotational = (await readFile(`/sys/block/${base}/queue/rotational`, 'utf8')).trim() === '1';
    } catch {
      rotational = undefined;
    }
  }
  return {
    device,
    fsType: cols[1],
    sizeGiB: cols[2] ? Math.round(Number(cols[2]) / 1048576) : undefined,
    freeGiB: cols[4] ? Math.round(Number(cols[4]) / 1048576) : undefined,
    rotational,
  };
}

export async function describeMachine(benchDir) {
  return {
    date: new Date().toISOString(),
    cpu: await cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    disk: await disk(benchDir),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    tools: {
      tar: await firstLine(['tar', '--version']),
      skopeo: await firstLine(['skopeo', '--version']),
      umoci: await firstLine(['umoci', '--version']),
      podman: await firstLine(['podman', '--version']),
      registry: await firstLine(['docker-registry', '--version']),
      qemu: await firstLine(['qemu-system-x86_64', '--version']),
    },
  };
}
