import { CacheError } from './cache-errors.js';

/** Nothing in the cache answers to what was given (a ref, a digest or a digest prefix). */
export class ImageNotFoundError extends CacheError {
  readonly target: string;
  constructor(target: string) {
    super('IMAGE_NOT_FOUND', `no cached image answers to ${target}`, { remedy: 'pull-first' });
    this.target = target;
  }
}

/** A digest prefix matches more than one cached digest; `candidates` lists them all. */
export class DigestAmbiguousError extends CacheError {
  readonly prefix: string;
  readonly candidates: string[];
  constructor(prefix: string, candidates: string[]) {
    super('DIGEST_AMBIGUOUS', `digest prefix ${prefix} is ambiguous: it matches ${candidates.join(', ')}; give more digits`);
    this.prefix = prefix;
    this.candidates = candidates;
  }
}

/**
 * An entry named by digest is also named by several refs, and removing it would drop refs the
 * caller did not name; `refs` lists them. Removal by each ref, or with `force`, goes ahead.
 */
export class EntrySharedError extends CacheError {
  readonly digest: string;
  readonly refs: string[];
  constructor(digest: string, refs: string[]) {
    super('ENTRY_SHARED', `image ${digest} is referred to by ${refs.length} refs (${refs.join(', ')}); remove them by name, or force removal of all of them`);
    this.digest = digest;
    this.refs = refs;
  }
}

/** Who uses a cache entry: a process holding it (a pull, a VM) or a lock. */
export interface EntryHolder {
  pid: number;
  /** The process's command line when it can be read (same host and pid namespace). */
  command?: string;
  /** Another host recorded in the hold or lock. */
  host?: string;
  /** `hold`: a running VM or command uses it; `lock`: a pull is building or changing it. */
  via: 'hold' | 'lock';
}

function describeHolders(holders: EntryHolder[]): string {
  if (holders.length === 0) return 'a running process';
  return holders
    .map((h) => `pid ${h.pid}${h.host ? ` on ${h.host}` : ''}${h.command ? ` (${h.command})` : ''}${h.via === 'lock' ? ' building it' : ''}`)
    .join(', ');
}

/** An entry cannot be removed because live processes use it; the message names them. */
export class ImageHeldError extends CacheError {
  readonly digest: string;
  readonly holders: EntryHolder[];
  constructor(digest: string, holders: EntryHolder[]) {
    super('ENTRY_HELD', `image ${digest} is in use by ${describeHolders(holders)}; nothing was removed for it`);
    this.digest = digest;
    this.holders = holders;
  }
}
