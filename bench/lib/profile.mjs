// Where the time goes: a V8 CPU profile of one bbox run (every thread that wrote one), folded into
// self time per function and per source file.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ROOT } from './bbox.mjs';

function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ticks = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => ticks.set(id, (ticks.get(id) ?? 0) + (deltas[i] ?? 0)));
  const out = [];
  for (const [id, us] of ticks) {
    const f = byId.get(id)?.callFrame;
    if (f) out.push({ fn: f.functionName || '(anonymous)', url: f.url, line: f.lineNumber + 1, us });
  }
  return out;
}

function place(url) {
  if (!url) return '(native/VM)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

/** Summarises every .cpuprofile in `dir`: top functions and files by self time. */
export async function summariseProfiles(dir, top = 15) {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const entries = [];
  for (const f of files) entries.push(...selfTimes(JSON.parse(await readFile(join(dir, f), 'utf8'))));
  const total = entries.reduce((a, e) => a + e.us, 0) || 1;
  const fold = (key) => {
    const m = new Map();
    for (const e of entries) m.set(key(e), (m.get(key(e)) ?? 0) + e.us);
    return [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / total) * 1000) / 10 }));
  };
  return {
    threads: files.length,
    sampledMs: Math.round(total / 1000),
    functions: fold((e) => (e.url ? `${e.fn} (${place(e.url)}:${e.line})` : `${e.fn} [native]`)),
    files: fold((e) => place(e.url)),
  };
}

export async function freshProfileDir(dir) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}
