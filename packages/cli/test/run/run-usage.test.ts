// `bbox run`'s help and the option checks made before any pull or boot (no VM here).
import t from 'tap';
import { join } from 'node:path';
import { makeSandbox } from '../bbox-process.js';

t.test('bbox run --help explains -i, -t, --no-image-cache and --platform, with examples', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const r = await sb.run(['run', '--help']);
  t.equal(r.code, 0, r.stderr);
  for (const flag of ['-i,--interactive', '-t,--tty', '--no-image-cache', '--platform OS/ARCH[/VARIANT]', '-e,--env KEY=VALUE']) t.match(r.stdout, flag, `documents ${flag}`);
  t.match(r.stdout.replace(/\s+/g, " "), /`-it` needs stdin to be a terminal: otherwise bbox refuses, as docker does \("the input device is not a TTY"\)/, 'says what -it does without a terminal');
  t.match(r.stdout, /\$ bbox run -it debian:12 -- bash/);
  t.match(r.stdout, /\$ bbox run --no-image-cache alpine:3\.20/);
});

t.test('no image cache from the config, with the policy never, is a usage error before any pull', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  await sb.write(sb.globalConfig, 'image:\n  noImageCache: true\n');
  // Port 1 of loopback: a pull would fail to connect instead.
  const r = await sb.run(['run', '--cache-dir', join(sb.root, 'cache'), '--pull', 'never', '127.0.0.1:1/none/such:1']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^bbox: image\.noImageCache cannot go with the pull policy never \(--pull\)/);
});
