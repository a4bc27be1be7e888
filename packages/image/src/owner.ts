import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Who made a tmp dir, a hold or a lock: pid plus what tells a reused pid apart (the process start
 * time) and which pid namespace the pid belongs to. Zero means "unknown on this system".
 */
export interface Owner {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux /proc), 0 if unknown. */
  start: number;
  /** Inode of the pid namespace, 0 if unknown. Pids of another namespace cannot be checked. */
  ns: number;
}

function startTimeOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) || 0;
  } catch {
    return 0;
  }
}

function pidNamespace(): number {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]) || 0;
  } catch {
    return 0;
  }
}

let self: Owner | undefined;

/** This process. */
export function currentOwner(): Owner {
  if (!self || self.pid !== process.pid) self = { pid: process.pid, start: startTimeOf(process.pid), ns: pidNamespace() };
  return self;
}

/** `pid-start-ns`, used inside file names. */
export function formatOwner(o: Owner): string {
  return `${o.pid}-${o.start}-${o.ns}`;
}

/** Reads {@link formatOwner}'s form; undefined for anything else. */
export function parseOwner(s: string): Owner | undefined {
  const m = /^(\d+)-(\d+)-(\d+)$/.exec(s);
  return m ? { pid: Number(m[1]), start: Number(m[2]), ns: Number(m[3]) } : undefined;
}

/**
 * `dead` only when certain: same pid namespace and the pid is gone or now belongs to a process that
 * started at another time. A pid of another namespace is `unknown`.
 */
export function ownerState(o: Owner): 'alive' | 'dead' | 'unknown' {
  const me = currentOwner();
  if (o.ns !== me.ns) return 'unknown';
  if (o.pid === me.pid) return o.start === me.start ? 'alive' : 'dead';
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  if (o.start !== 0 && startTimeOf(o.pid) !== o.start) return 'dead';
  return 'alive';
}
