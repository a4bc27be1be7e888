// Counts the requests a registry served, from its access log (Apache combined format, which CNCF
// distribution writes when `log.accesslog` is on). A checkpoint is a sentinel request whose log
// line marks a position; the requests between two checkpoints are the ones a measured command made.
import { open, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';

const LINE = /^\S+ \S+ \S+ \[[^\]]+\] "(\w+) (\S+) [^"]*" (\d{3}) (\d+|-)/;
const SENTINEL = 'bench-sentinel=';

function get(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.end();
  });
}

async function readFrom(file, offset) {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size <= offset) return '';
    const buf = Buffer.alloc(size - offset);
    await fh.read(buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Classifies one request path of the distribution API. */
function kindOf(path) {
  if (/^\/v2\/?(\?|$)/.test(path)) return 'ping';
  if (/\/manifests\/[^/]+$/.test(path.split('?')[0])) return 'manifest';
  if (/\/blobs\/sha256:[0-9a-f]{64}$/.test(path.split('?')[0])) return 'blob';
  return 'other';
}

/** Request counts and bytes of a list of parsed log entries. */
export function countRequests(entries, layerDigests = []) {
  const layers = new Set(layerDigests);
  const c = {
    total: 0,
    ping: 0,
    manifest: 0,
    manifestHead: 0,
    manifestGet: 0,
    blob: 0,
    blobGet: 0,
    blobHead: 0,
    other: 0,
    bytes: 0,
    blobBytes: 0,
    layerBytes: 0,
  };
  const layersFetched = [];
  // A short list of what was asked, for the report of small request counts.
  const list = entries.length <= 12 ? entries.map((e) => `${e.method} ${e.path.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/, 'sha256:$1…')} ${e.status}`) : undefined;
  for (const e of entries) {
    c.total++;
    c.bytes += e.bytes;
    const k = kindOf(e.path);
    c[k]++;
    if (k === 'manifest') c[e.method === 'HEAD' ? 'manifestHead' : 'manifestGet']++;
    if (k === 'blob') {
      c[e.method === 'HEAD' ? 'blobHead' : 'blobGet']++;
      c.blobBytes += e.bytes;
      const digest = e.path.split('?')[0].split('/blobs/')[1];
      if (layers.has(digest) && e.method === 'GET') {
        c.layerBytes += e.bytes;
        layersFetched.push(digest);
      }
    }
  }
  return { ...c, layersFetched, list };
}

export function parseAccessLog(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({ method: m[1], path: m[2], status: Number(m[3]), bytes: m[4] === '-' ? 0 : Number(m[4]) });
  }
  return out;
}

/** One registry's access log, read between checkpoints. */
export class AccessLog {
  /** @param {string} file the registry's log file; @param {string} baseUrl `http://127.0.0.1:PORT` */
  constructor(file, baseUrl) {
    this.file = file;
    this.baseUrl = baseUrl;
  }

  /** True when a sentinel request shows up in the log file (the log is the registry's). */
  async works() {
    try {
      await stat(this.file);
      await this.checkpoint();
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a sentinel and resolves with the log offset just after its line. */
  async checkpoint(from) {
    const id = randomBytes(6).toString('hex');
    const start = from ?? (await stat(this.file)).size;
    await get(`${this.baseUrl}/v2/?${SENTINEL}${id}`);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const text = await readFrom(this.file, start);
      const at = text.indexOf(`${SENTINEL}${id}`);
      if (at >= 0) {
        const eol = text.indexOf('\n', at);
        const end = eol >= 0 ? eol + 1 : text.length;
        return { offset: start + Buffer.byteLength(text.slice(0, end)), text: text.slice(0, end) };
      }
      // The registry writes its line right after the response; poll the file until it is there.
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`the sentinel request never reached ${this.file}: is that the log of ${this.baseUrl}?`);
  }

  /** Marks "now"; pass the result to `since`. */
  async mark() {
    return (await this.checkpoint()).offset;
  }

  /** The requests served since `offset` (sentinels left out). */
  async since(offset, layerDigests) {
    const { text, offset: end } = await this.checkpoint(offset);
    const entries = parseAccessLog(text).filter((e) => !e.path.includes(SENTINEL));
    return { ...countRequests(entries, layerDigests), end };
  }
}
