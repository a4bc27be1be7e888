import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox } from '../bbox-process.js';

const HINT = 'hint: see docs/config.md for every key and its allowed values\n';
const BAD = 'vm:\n  cpus: 0\n';
const complaint = (file: string) => `bbox: ${file}: vm.cpus: 0 is not a CPU count; use a whole number greater than 0\n${HINT}`;

t.test('the project search goes from the working directory up to the home directory, and no further', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const inHome = join(sb.home, 'work', 'app', 'src');
  await sb.write(join(inHome, 'keep'), '');
  const atHome = await sb.write(join(sb.home, '.broodbox.yaml'), BAD);
  const r = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir], { cwd: inHome });
  t.same([r.code, r.stderr], [2, complaint('~/.broodbox.yaml')], `found ${atHome} from below it`);

  const aboveHome = await sb.write(join(sb.root, '.broodbox.yaml'), BAD);
  await sb.write(atHome, '');
  const above = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir], { cwd: inHome });
  t.equal(above.code, 0, `${aboveHome}, above the home directory, is not read: ${above.stderr}`);

  const nearest = await sb.write(join(sb.home, 'work', '.broodbox.yml'), BAD);
  const near = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir], { cwd: inHome });
  t.same([near.code, near.stderr], [2, complaint('~/work/.broodbox.yml')], `the nearest file wins: ${nearest}`);
});

t.test('code in the working directory is never run: cosmiconfig\'s own settings files are not looked for', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const marker = join(sb.root, 'ran');
  const js = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = {};\n`;
  await sb.write(join(sb.workdir, '.config', 'config.js'), js);
  await sb.write(join(sb.workdir, '.config', 'config.cjs'), js);
  await sb.write(join(sb.workdir, 'package.json'), '{"cosmiconfig": {"searchPlaces": [".config/config.cjs"]}}\n');
  await sb.write(join(sb.project, '.broodbox.yaml'), 'image:\n  pull: never\n');
  const r = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir]);
  t.equal(r.code, 0, r.stderr);
  const viaFlag = await sb.run(['cache', 'list', '--cache-dir', sb.cacheDir, '--config', join(sb.workdir, '.config', 'config.js')]);
  t.equal(viaFlag.code, 2, '--config FILE.js is read as YAML, not run');
  t.notOk(existsSync(marker), 'no JavaScript from the working directory ran');
});
