import { readFileSync, readdirSync } from 'node:fs';

/**
 * True when `pid` runs. A zombie (a killed process not yet reaped) counts as gone once its other
 * threads have exited too: until then it may still hold its sockets, its port among them.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'Z' && state !== 'X') return true;
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/**
 * True when `pid` is a `docker-registry serve` of this config file: a pid that was reused by
 * another program after the cache died must never be signalled.
 */
export function isCacheProcess(pid: number, configFile: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('serve') && argv.includes(configFile);
  } catch {
    return false;
  }
}
