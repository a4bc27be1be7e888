import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

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
  /**
   * Boot id of the kernel the process ran on (Linux `/proc/sys/kernel/random/boot_id`), absent
   * when not recorded. Another host sharing the cache (or a later boot) has another one, and pid
   * namespace inodes of different kernels can be equal, so only the boot id makes pids comparable.
   */
  boot?: string;
  /** Host name, absent when not recorded: for messages, and to tell hosts apart without a boot id. */
  host?: string;
}

/** State letter and start time of a process from /proc; undefined when it cannot be read. */
function procStat(pid: number): { state: string; start: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: Number(fields[19]) || 0 };
  } catch {
    return undefined;
  }
}

function startTimeOf(pid: number): number {
  return procStat(pid)?.start ?? 0;
}

function pidNamespace(): number {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]) || 0;
  } catch {
    return 0;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

let self: Owner | undefined;

/** This process, with its host (boot id and host name). */
export function currentOwner(): Owner {
  if (!self || self.pid !== process.pid) {
    const boot = bootId();
    self = { pid: process.pid, start: startTimeOf(process.pid), ns: pidNamespace(), ...(boot ? { boot } : {}), host: hostname() };
  }
  return self;
}

/** False when `o` recorded a host other than this one; owners that recorded none are taken as local. */
function sameHost(o: Owner, me: Owner): boolean {
  if (o.boot !== undefined && o.boot !== me.boot) return false;
  return o.host === undefined || o.host === me.host;
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
 * `dead` only when certain: same host, same pid namespace, and the pid is gone, is a zombie, or now
 * belongs to a process that started at another time. A pid of another host or namespace is `unknown`.
 */
export function ownerState(o: Owner): 'alive' | 'dead' | 'unknown' {
  const me = currentOwner();
  if (!sameHost(o, me) || o.ns !== me.ns) return 'unknown';
  if (o.pid === me.pid) return o.start === me.start ? 'alive' : 'dead';
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  const st = procStat(o.pid);
  // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0) but holds nothing.
  if (st && (st.state === 'Z' || st.state === 'X')) return 'dead';
  if (o.start !== 0 && (st?.start ?? 0) !== o.start) return 'dead';
  return 'alive';
}
