import t from 'tap';
import { join } from 'node:path';
import { buildImage, makeLayer, startRegistry } from '@broodbox/testkit';
import { makeSandbox } from '../bbox-process.js';
import { push } from '../registry-fixture.js';

/** An image with an extended attribute on a file: applying it needs setfattr. */
const withXattrs = () =>
  buildImage({
    layers: [
      makeLayer([
        { path: 'bin/', type: 'dir' },
        { path: 'bin/ping', type: 'file', mode: 0o755, content: '#!/bin/sh\n', xattrs: { 'user.origin': 'image' } },
      ]),
    ],
    config: { Cmd: ['/bin/ping'] },
  });

t.test('a pull that could not apply extended attributes warns: on stderr, or in the --json object', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const ref = `${reg.host}/cli/xattrs:1`;
  await push(reg, 'cli/xattrs', '1', withXattrs());
  const env = { BBOX_SETFATTR: join(sb.root, 'no-such-setfattr') };

  const text = await sb.run(['pull', '--cache-dir', join(sb.root, 'c-text'), ref], { env });
  t.equal(text.code, 0, 'the pull succeeds');
  t.match(text.stdout, `${ref}: pulled 1 layer`);
  const warnings = text.stderr.split('\n').filter((l) => l !== '');
  t.equal(warnings.length, 1, 'one warning');
  t.match(warnings[0], /^bbox: warning: .*setfattr is not installed.*install the attr package/);

  const json = await sb.run(['pull', '--json', '--cache-dir', join(sb.root, 'c-json'), ref], { env });
  t.equal(json.code, 0, json.stderr);
  t.equal(json.stderr, '', 'with --json nothing goes to stderr');
  const o = JSON.parse(json.stdout) as { warnings?: Array<{ code: string; message: string }> };
  t.same(Object.keys(o), ['ref', 'digest', 'rootfs', 'fromCache', 'policy', 'warnings'], 'warnings come after the documented keys');
  t.same(o.warnings?.map((w) => w.code), ['XATTR_TOOL_MISSING']);
  t.match(o.warnings?.[0]?.message, /install the attr package/);

  const quiet = await sb.run(['pull', '-q', '--cache-dir', join(sb.root, 'c-quiet'), ref], { env });
  t.equal(quiet.stdout.split('\n').length, 2, '--quiet prints only the path on stdout');
  t.match(quiet.stderr, /^bbox: warning: .*setfattr/, '--quiet still warns on stderr');

  const hit = await sb.run(['pull', '--json', '--cache-dir', join(sb.root, 'c-json'), ref], { env });
  t.notOk('warnings' in JSON.parse(hit.stdout), 'a cache hit applies nothing, so it has nothing to warn about');
});
