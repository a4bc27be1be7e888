// An unprivileged user for tests that run bbox without root (the tests themselves run as root).
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';

/** The account the tests create; a fixed name, so runs reuse it. */
export const TEST_USER = 'bbox-rootless';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Creates the user (with a home of its own, `useradd -m`) unless it exists; idempotent. */
export function ensureTestUser(name = TEST_USER): TestUser {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', name], { stdio: 'ignore' });
  }
  const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid), home: home! };
}

/** Makes the directories `paths` (created when missing) belong to `user`. */
export function giveTo(user: TestUser, ...paths: string[]): void {
  for (const p of paths) {
    mkdirSync(p, { recursive: true });
    chownSync(p, user.uid, user.gid);
  }
}

export interface NodeRunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node SCRIPT ARGS` as `user` (as this process's user when undefined) with `env` as the
 * whole environment. Through `env -u NODE_OPTIONS`: the test runner adds a preload read from the
 * checkout to every child's NODE_OPTIONS, and that user may not be able to read the checkout.
 */
export function runNodeAs(
  user: TestUser | undefined,
  script: string,
  args: string[],
  opts: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<NodeRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, script, ...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
