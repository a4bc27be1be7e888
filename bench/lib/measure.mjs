// Runs one command and measures it: wall time (from spawn to exit, in this process), the peak RSS
// of the largest process in its tree (GNU time's %M, from wait4), and optionally the peak of the
// summed RSS of the whole tree, sampled from /proc.
import { spawn } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';

export const GNU_TIME = '/usr/bin/time';
const OUTPUT_CAP = 4 * 1024 * 1024;
const PAGE_KIB = 4;

/** A command that exited non-zero or was killed; carries the tail of its stderr. */
export class CommandFailedError extends Error {
  constructor(argv, code, signal, stderr) {
    const tail = tailLines(stderr, 6);
    super(`${argv.join(' ')} exited ${signal ?? code}${tail ? `: ${tail}` : ''}`);
    this.name = 'CommandFailedError';
    this.code = 'COMMAND_FAILED';
    this.exitCode = code;
    this.stderr = stderr;
  }
}

/** The telling part of a command's output: from its first error line, else its last `n` lines. */
export function tailLines(text, n) {
  const lines = String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const at = lines.findIndex((l) => /(^bbox:|^\w*Error\b|\berror:)/.test(l));
  const picked = at >= 0 ? lines.slice(at, at + n) : lines.slice(-n);
  return picked.join(' | ').slice(0, 600);
}

function capture(stream) {
  const chunks = [];
  let size = 0;
  stream.on('data', (c) => {
    if (size < OUTPUT_CAP) chunks.push(c);
    size += c.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

async function childrenOf(pid) {
  let tasks;
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out = [];
  for (const t of tasks) {
    try {
      const text = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8');
      for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the task ended while we looked
    }
  }
  return out;
}

async function residentKiB(pid) {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
    return Number(statm.split(' ')[1]) * PAGE_KIB;
  } catch {
    return 0;
  }
}

/** Sums the RSS of every descendant of `rootPid` (the root itself, GNU time, is left out). */
async function treeRssKiB(rootPid) {
  let total = 0;
  const queue = await childrenOf(rootPid);
  while (queue.length) {
    const pid = queue.shift();
    total += await residentKiB(pid);
    queue.push(...(await childrenOf(pid)));
  }
  return total;
}

function startTreeSampler(pid, intervalMs) {
  let peak = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      peak = Math.max(peak, await treeRssKiB(pid));
    } finally {
      busy = false;
    }
  }, intervalMs);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

function parseMaxRss(text) {
  const lines = text.trim().split('\n');
  const n = Number(lines[lines.length - 1]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Runs argv under GNU time. Resolves with the measurements; rejects with CommandFailedError on a
 * non-zero exit unless `allowFailure`.
 * @returns {Promise<{wallMs:number, maxRssKiB?:number, treeRssPeakKiB?:number, code:number|null, stdout:string, stderr:string}>}
 */
export async function timeCommand(argv, opts = {}) {
  const { cwd, env, treeRss = false, allowFailure = false, sampleMs = 50 } = opts;
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${randomBytes(4).toString('hex')}`);
  const t0 = process.hrtime.bigint();
  const child = spawn(GNU_TIME, ['-f', '%M', '-o', timeFile, '--', ...argv], {
    cwd,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  const stopSampler = treeRss ? startTreeSampler(child.pid, sampleMs) : () => undefined;
  const { code, signal } = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve({ code: c, signal: s }));
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const treeRssPeakKiB = stopSampler();
  let maxRssKiB;
  try {
    maxRssKiB = parseMaxRss(await readFile(timeFile, 'utf8'));
  } catch {
    maxRssKiB = undefined;
  }
  await rm(timeFile, { force: true });
  const result = { wallMs, maxRssKiB, treeRssPeakKiB, code, stdout: stdout(), stderr: stderr() };
  if ((code !== 0 || signal) && !allowFailure) throw new CommandFailedError(argv, code, signal, result.stderr);
  return result;
}

/** Runs a command for its output only (setup work, never timed). */
export async function runQuiet(argv, opts = {}) {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  const { code, signal } = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve({ code: c, signal: s }));
  });
  const out = { code, stdout: stdout(), stderr: stderr() };
  if ((code !== 0 || signal) && !opts.allowFailure) throw new CommandFailedError(argv, code, signal, out.stderr);
  return out;
}

/**
 * Writes out every dirty page before a measured run, so a run never pays for the write-back of
 * what its predecessor (or its own untimed setup) wrote: on this kind of disk that write-back
 * slows every file creation of the next run several times over, whichever side comes next.
 */
export async function settleDisk() {
  await runQuiet(['sync']);
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function summarise(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}
