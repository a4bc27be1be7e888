/**
 * The thread of {@link StoreWriter} (store-writer.ts): writes the content files of one layer with
 * synchronous calls. One thread doing plain syscalls creates small files several times faster than
 * round trips through the libuv pool, and it runs beside the thread that decompresses, parses and
 * hashes.
 */
import { closeSync, fchmodSync, fchownSync, futimesSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/**
 * One operation for the store thread. Paths are absolute, inside the layer directory; file
 * bytes are a [start, end) range of the batch's data buffer.
 * - `m`: make a bucket directory;
 * - `f`: write a whole file: path, start, end, chown?, uid, gid, mode, mtime (s);
 * - `o` / `d` / `c`: open, append to and close a large file streamed over several batches.
 */
export type StoreOp =
  | ['m', string]
  | ['f', string, number, number, boolean, number, number, number, number]
  | ['o', number, string]
  | ['d', number, number, number]
  | ['c', number, boolean, number, number, number, number];

/** A batch: the bytes of every file in it, transferred (not copied) to the thread, and the operations. */
export interface StoreBatch {
  data: ArrayBuffer;
  ops: StoreOp[];
}

/** What the thread answers to each batch. */
export interface StoreAck {
  bytes: number;
  /** The batch's buffer, handed back for reuse. */
  data?: ArrayBuffer;
  error?: { message: string; code?: string };
  ended?: boolean;
}

const port = parentPort!;
const fds = new Map<number, number>();
const umask = process.umask();
const myUid = process.getuid!();
const myGid = process.getgid!();

function writeRange(fd: number, data: Uint8Array, start: number, end: number): number {
  let off = start;
  while (off < end) off += writeSync(fd, data, off, end - off);
  return end - start;
}

// Files are opened with their final permission bits; the calls below are made only when
// the open could not get there: another owner, special bits, or bits the umask removed.
function finish(fd: number, chown: boolean, uid: number, gid: number, mode: number, mtime: number, openedWith: number): void {
  try {
    const rechown = chown && (uid !== myUid || gid !== myGid);
    // chown first: it clears setuid/setgid, which the chmod then sets.
    if (rechown) fchownSync(fd, uid, gid);
    if (rechown || mode !== (openedWith & ~umask)) fchmodSync(fd, mode);
    futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
}

function openFd(id: number): number {
  const fd = fds.get(id);
  if (fd === undefined) throw new Error(`store thread: no open file ${id}`);
  return fd;
}

function apply(op: StoreOp, data: Uint8Array): number {
  switch (op[0]) {
    case 'm':
      mkdirSync(op[1], { mode: 0o700 });
      return 0;
    case 'f': {
      const fd = openSync(op[1], 'wx', op[7] & 0o777);
      let bytes: number;
      try {
        bytes = writeRange(fd, data, op[2], op[3]);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      finish(fd, op[4], op[5], op[6], op[7], op[8], op[7] & 0o777);
      return bytes;
    }
    case 'o':
      fds.set(op[1], openSync(op[2], 'wx', 0o600));
      return 0;
    case 'd':
      return writeRange(openFd(op[1]), data, op[2], op[3]);
    case 'c': {
      const fd = openFd(op[1]);
      fds.delete(op[1]);
      finish(fd, op[2], op[3], op[4], op[5], op[6], 0o600);
      return 0;
    }
  }
}

let failed = false;
port.on('message', (msg: StoreBatch | 'end') => {
  if (msg === 'end') {
    for (const fd of fds.values()) closeSync(fd);
    fds.clear();
    port.postMessage({ bytes: 0, ended: true } satisfies StoreAck);
    return;
  }
  let bytes = 0;
  const data = new Uint8Array(msg.data);
  try {
    for (const op of msg.ops) {
      if (failed) break;
      bytes += apply(op, data);
    }
    // The buffer goes back: left here, it would only be freed by a garbage collection this
    // thread, which allocates next to nothing, seldom runs.
    port.postMessage({ bytes, data: msg.data } satisfies StoreAck, [msg.data]);
  } catch (err) {
    failed = true;
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ bytes, error: { message: e.message, ...(e.code === undefined ? {} : { code: e.code }) } } satisfies StoreAck);
  }
});
