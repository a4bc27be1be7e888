import t from 'tap';
import { startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { appImage, push } from '../registry-fixture.js';

// `bbox pull REF…`: several refs at once, one result each, the exit code of the first failure.

const reg = await startRegistry();
t.teardown(() => reg.stop());
const sb = await makeSandbox();
t.teardown(() => sb.cleanup());

t.test('several refs: one JSON line or summary each; the first failure sets the exit code', async (t) => {
  const a = await push(reg, 'many/a', 'v1', appImage('a'));
  const b = await push(reg, 'many/b', 'v1', appImage('b'));
  const refs = [`${reg.host}/many/a:v1`, `${reg.host}/many/missing:v1`, `${reg.host}/many/b:v1`];
  const json = await sb.run(['pull', '--cache-dir', sb.cacheDir, '--json', ...refs]);
  t.equal(json.code, 4, 'the missing image is a registry failure (4)');
  const lines = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { ref: string; digest?: string; error?: { code: string } });
  t.equal(lines.length, 3, 'one line per ref');
  const byRef = new Map(lines.map((l) => [l.ref, l]));
  t.equal(byRef.get(refs[0]!)?.digest, a);
  t.equal(byRef.get(refs[2]!)?.digest, b);
  t.equal(byRef.get(refs[1]!)?.error?.code, 'MANIFEST_UNKNOWN', 'the failure has its own line');
  t.match(json.stderr, /many\/missing/, 'and its message on stderr');

  const text = await sb.run(['pull', '--cache-dir', sb.cacheDir, refs[0]!, refs[2]!]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^${refs[0]!.replace(/[.]/g, '\\.')}: cache hit`, 'm'));
  t.match(text.stdout, new RegExp(`^${refs[2]!.replace(/[.]/g, '\\.')}: cache hit`, 'm'));
  const usage = await sb.run(['pull', '--cache-dir', sb.cacheDir, 'Bad Ref!', refs[0]!]);
  t.equal(usage.code, 2, 'a bad reference among good ones: exit code 2');
});
