import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

// `bbox cache verify` in text: one line per problem, with the field that differs for a change.

interface Problem {
  kind: string;
  path: string;
  field?: string;
}

const reg = await startRegistry();
t.teardown(() => reg.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());

t.test('text output names the changed field of each problem, as --json does', async (t) => {
  await push(reg, 'verify/app', 'v1', appImage('1'));
  const cacheArgs = ['--cache-dir', sb.cacheDir];
  const pulled = await sb.run(['pull', ...cacheArgs, '--platform', 'linux/amd64', '--json', `${reg.host}/verify/app:v1`]);
  t.equal(pulled.code, 0, pulled.stderr);
  const { rootfs } = JSON.parse(pulled.stdout) as { rootfs: string };

  await chmod(join(rootfs, 'bin'), 0o700);
  await rm(join(rootfs, 'etc', 'version'));

  const json = await sb.run(['cache', 'verify', ...cacheArgs, '--json']);
  t.equal(json.code, 1, json.stderr);
  const problems = (JSON.parse(json.stdout) as { entries: Array<{ problems: Problem[] }> }).entries.flatMap((e) => e.problems);
  t.ok(problems.some((p) => p.kind === 'changed' && p.path === 'bin' && p.field === 'mode'), 'the mode change is found');
  t.ok(problems.some((p) => p.kind === 'missing' && p.path === 'etc/version'), 'the removal is found');

  const text = await sb.run(['cache', 'verify', ...cacheArgs]);
  t.equal(text.code, 1, text.stderr);
  const lines = text.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.match(text.stdout, /^ +changed +bin \(mode\)$/m, 'the field is printed');
  t.ok(lines.includes('missing etc/version'), 'a missing path has no field');
  for (const p of problems) {
    t.ok(lines.includes(`${p.kind} ${p.path || '/'}${p.field ? ` (${p.field})` : ''}`), `text shows ${p.kind} ${p.path} ${p.field ?? ''}`);
  }
  t.match(text.stdout, /1 checked, 1 damaged\./);
});

t.test('--repair removes the damaged entry and pulls its ref again', async (t) => {
  const cacheArgs = ['--cache-dir', sb.cacheDir];
  await push(reg, 'verify/repair', 'v1', appImage('r1'));
  const ref = `${reg.host}/verify/repair:v1`;
  const pulled = await sb.run(['pull', ...cacheArgs, '--platform', 'linux/amd64', '--json', ref]);
  const { rootfs, digest } = JSON.parse(pulled.stdout) as { rootfs: string; digest: string };
  await rm(join(rootfs, 'etc', 'version'));
  const repaired = await sb.run(['cache', 'verify', ...cacheArgs, '--repair', digest.slice(7, 21)]);
  t.equal(repaired.code, 1, 'damage was found');
  t.match(repaired.stdout, /DAMAGED \(repaired\)/);
  t.match(repaired.stdout, new RegExp(`^Pulled ${ref.replace(/[.]/g, '\\.')} again\\.$`, 'm'));
  const after = await sb.run(['cache', 'verify', ...cacheArgs, digest]);
  t.equal(after.code, 0, 'the entry pulled again is intact');
  const offline = await sb.run(['pull', ...cacheArgs, '--pull', 'never', '--json', ref]);
  t.equal(offline.code, 0, 'and served from the cache');
});
