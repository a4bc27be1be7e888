import t from 'tap';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pullWithFetcher } from '../src/index.js';
import { appImage, setupRegistry } from './verify-fixtures.js';

const BBOX = fileURLToPath(new URL('../../cli/bin/bbox.js', import.meta.url));

function bbox(args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('BBOX_') && !k.startsWith('XDG_')) env[k] = v;
  env.HOME = home;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BBOX, ...args], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('bbox cache verify: 0 when intact, 1 while damaged (also when repaired), 0 after repair', async (t) => {
  const s = await setupRegistry(t);
  await s.push(appImage('1'));
  const pulled = await pullWithFetcher(s.ref, { cache: s.cache });
  const home = s.dir;
  const cacheDir = s.cache.dir;

  const clean = await bbox(['cache', 'verify', '--cache-dir', cacheDir], home);
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /1 checked, 0 damaged/);

  await rm(join(pulled.path, 'etc/os-release'));
  await writeFile(join(pulled.path, 'extra'), 'x');
  const damaged = await bbox(['cache', 'verify', '--cache-dir', cacheDir, '--json', pulled.digest], home);
  t.equal(damaged.code, 1);
  const report = JSON.parse(damaged.stdout) as { entries: Array<{ ok: boolean; problems: Array<{ kind: string; path: string }> }> };
  t.same(
    report.entries[0]?.problems.filter((p) => p.kind !== 'changed').map((p) => `${p.kind} ${p.path}`),
    ['missing etc/os-release', 'extra extra'],
  );

  const repaired = await bbox(['cache', 'verify', '--cache-dir', cacheDir, '--repair'], home);
  t.equal(repaired.code, 1, 'damage was found, even though it was repaired');
  t.match(repaired.stdout, /DAMAGED \(repaired\)/);
  t.match(repaired.stdout, /missing\s+etc\/os-release/);
  t.equal(await s.cache.hasEntry(pulled.digest), false);

  await pullWithFetcher(s.ref, { cache: s.cache });
  const after = await bbox(['cache', 'verify', '--cache-dir', cacheDir], home);
  t.equal(after.code, 0, after.stdout);
});
