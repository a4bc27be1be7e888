import { Worker } from 'node:worker_threads';

/**
 * One operation for the store worker. Paths are absolute, inside the layer directory; file
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

/** A batch: the bytes of every file in it, transferred (not copied) to the worker, and the operations. */
export interface StoreBatch {
  data: ArrayBuffer;
  ops: StoreOp[];
}

/** What the worker answers to each batch. */
export interface StoreAck {
  bytes: number;
  /** The batch's buffer, handed back for reuse. */
  data?: ArrayBuffer;
  error?: { message: string; code?: string };
  ended?: boolean;
}

/**
 * The worker writes with synchronous calls: one thread doing plain syscalls creates small
 * files several times faster than round trips through the libuv pool, and it runs beside the
 * thread that decompresses, parses and hashes. Kept as plain JavaScript source so it loads the
 * same way from the compiled package and from TypeScript sources.
 */
const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const fds = new Map();
const umask = process.umask();
const myUid = process.getuid();
const myGid = process.getgid();
function writeRange(fd, data, start, end) {
  let off = start;
  while (off < end) off += fs.writeSync(fd, data, off, end - off);
  return end - start;
}
// Files are opened with their final permission bits; the calls below are made only when
// the open could not get there: another owner, special bits, or bits the umask removed.
function finish(fd, chown, uid, gid, mode, mtime, openedWith) {
  try {
    const rechown = chown && (uid !== myUid || gid !== myGid);
    // chown first: it clears setuid/setgid, which the chmod then sets.
    if (rechown) fs.fchownSync(fd, uid, gid);
    if (rechown || mode !== (openedWith & ~umask)) fs.fchmodSync(fd, mode);
    fs.futimesSync(fd, mtime, mtime);
  } finally {
    fs.closeSync(fd);
  }
}
let failed = false;
parentPort.on('message', (msg) => {
  if (msg === 'end') {
    for (const fd of fds.values()) fs.closeSync(fd);
    fds.clear();
    parentPort.postMessage({ bytes: 0, ended: true });
    return;
  }
  let bytes = 0;
  const data = new Uint8Array(msg.data);
  try {
    for (const op of msg.ops) {
      if (failed) break;
      switch (op[0]) {
        case 'm': fs.mkdirSync(op[1], { mode: 0o700 }); break;
        case 'f': {
          const fd = fs.openSync(op[1], 'wx', op[7] & 0o777);
          try { bytes += writeRange(fd, data, op[2], op[3]); } catch (e) { fs.closeSync(fd); throw e; }
          finish(fd, op[4], op[5], op[6], op[7], op[8], op[7] & 0o777);
          break;
        }
        case 'o': fds.set(op[1], fs.openSync(op[2], 'wx', 0o600)); break;
        case 'd': bytes += writeRange(fds.get(op[1]), data, op[2], op[3]); break;
        case 'c': {
          const fd = fds.get(op[1]);
          fds.delete(op[1]);
          finish(fd, op[2], op[3], op[4], op[5], op[6], 0o600);
          break;
        }
      }
    }
    // The buffer goes back: left here, it would only be freed by a garbage collection this
    // thread, which allocates next to nothing, seldom runs.
    parentPort.postMessage({ bytes, data: msg.data }, [msg.data]);
  } catch (err) {
    failed = true;
    parentPort.postMessage({ bytes, error: { message: err.message, code: err.code } });
  }
});
`;

/** Starts a store worker. */
export function startStoreWorker(): Worker {
  return new Worker(WORKER_SOURCE, { eval: true });
}
