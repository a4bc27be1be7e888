import { execSync } from 'node:child_process';
import { createReadStream, readFileSync, openSync, writeSync, closeSync, fchownSync, fchmodSync, futimesSync, mkdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Parser } from 'tar';
import { decompressLayer } from '../src/decompress.ts';
const layers = JSON.parse(readFileSync('/tmp/lbench/layers.json', 'utf8'));
const mode = process.argv[2];
rmSync('/tmp/lbench/sync', { recursive: true, force: true }); const per = Number(process.argv[3] ?? 4096); for (let b = 0; b < 20000 / per + 1; b++) mkdirSync(`/tmp/lbench/sync/${b}`, { recursive: true });
execSync('sync'); const t0 = performance.now();
let n = 0;
for (const l of layers) {
  const p = new Parser({ zstd: false, brotli: false });
  p.on('entry', (e) => {
    if (e.type !== 'File') return e.resume();
    const chunks: Buffer[] = []; const h = createHash('sha256');
    e.on('end', () => {
      h.digest('hex');
      if (mode === 'sync') {
        const fd = openSync(`/tmp/lbench/sync/${Math.floor(n / per)}/${(n++).toString(16)}`, 'wx', 0o600);
        for (const c of chunks) writeSync(fd, c);
        fchownSync(fd, 0, 0); fchmodSync(fd, e.mode); futimesSync(fd, 1000, 1000); closeSync(fd);
      }
    });
    e.on('data', (c: Buffer) => { h.update(c); chunks.push(c); });
  });
  const whole = createHash('sha256');
  for await (const c of decompressLayer(createReadStream(l.file), 'gzip')) { whole.update(c); p.write(c); }
  p.end();
}
console.log(mode, per, Math.round(performance.now() - t0), 'ms');
