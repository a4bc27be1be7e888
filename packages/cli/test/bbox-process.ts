import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, run as users run it. */
export const BBOX_BIN = fileURLToPath(new URL('../bin/bbox.js', import.meta.url));

export interface BboxResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BboxRun {
  /** Another bbox entry script (e.g. an installed copy); default the workspace build. */
  bin?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** A private HOME, config dirs, a project dir and a cache dir; removed at teardown. */
export interface Sandbox {
  root: string;
  home: string;
  /** A project directory with a nested working directory below it. */
  project: string;
  workdir: string;
  cacheDir: string;
  /** $XDG_CONFIG_HOME/broodbox/config.yaml for this sandbox. */
  globalConfig: string;
  env: Record<string, string>;
  run(args: string[], opts?: BboxRun): Promise<BboxResult>;
  write(path: string, content: string): Promise<string>;
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('BBOX_') || k.startsWith('XDG_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue;
    env[k] = v;
  }
  return env;
}

/** Runs `node bin/bbox.js ARGS` with stdin closed (not a terminal) and collects its output. */
export function runBbox(args: string[], opts: BboxRun = {}): Promise<BboxResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, [opts.bin ?? BBOX_BIN, ...args], { cwd: opts.cwd ?? process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Makes a sandbox; the caller registers `cleanup` with t.teardown. */
export async function makeSandbox(): Promise<Sandbox & { cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'bbox-cli-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  const workdir = join(project, 'src', 'deep');
  const cacheDir = join(root, 'cache');
  await mkdir(workdir, { recursive: true });
  await mkdir(home, { recursive: true });
  // No registry cache for any registry unless a test names one: no test may start a cache of docker.io itself.
  const env = { ...cleanEnv(), HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), BBOX_REGISTRY_CACHE_UPSTREAMS: '' };
  const write = async (path: string, content: string) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    return path;
  };
  return {
    root,
    home,
    project,
    workdir,
    cacheDir,
    globalConfig: join(home, '.config', 'broodbox', 'config.yaml'),
    env,
    run: (args, opts = {}) => runBbox(args, { ...(opts.bin ? { bin: opts.bin } : {}), cwd: opts.cwd ?? workdir, env: { ...env, ...opts.env } }),
    write,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
