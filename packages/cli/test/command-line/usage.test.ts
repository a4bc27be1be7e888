import t from 'tap';
import { readFileSync } from 'node:fs';
import { makeSandbox } from '../bbox-process.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

t.test('--version prints the package version and nothing else', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  for (const flag of ['--version', '-v']) {
    const r = await sb.run([flag]);
    t.equal(r.code, 0, flag);
    t.equal(r.stdout, `${version}\n`, flag);
    t.equal(r.stderr, '', flag);
  }
});

t.test('--help lists every command; each command has help with examples', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const top = await sb.run(['--help']);
  t.equal(top.code, 0);
  for (const c of ['bbox pull', 'bbox run', 'bbox images', 'bbox inspect', 'bbox export', 'bbox cache list', 'bbox cache gc', 'bbox cache purge', 'bbox cache verify', 'bbox cache rm', 'bbox cache clone', 'bbox cache prune']) t.match(top.stdout, c);
  const expected: Record<string, RegExp[]> = {
    pull: [/--pull/, /--no-pull/, /--platform/, /--no-registry-cache/, /--json/, /--quiet/, /--cache-dir/, /--config/, /\$ bbox pull --pull always/],
    run: [/--cpus/, /--memory/, /-e,--env/, /--workdir/, /--user/, /--timeout/, /--accel/, /-v,--volume/, /--net/, /\$ bbox run alpine:3\.20 -- sh -c/],
    'cache list': [/--json/, /\$ bbox cache list --json/],
    'cache gc': [/--dry-run/, /\$ bbox cache gc --dry-run/],
    'cache purge': [/--force/, /\$ bbox cache purge --force/],
    'cache verify': [/--repair/, /\$ bbox cache verify --repair/],
    images: [/--orphans/, /--json/, /\$ bbox images --orphans/],
    inspect: [/--remote/, /--platform OS\/ARCH\[\/VARIANT\]/, /\$ bbox inspect --remote/],
    export: [/-o,--output FILE/, /tar -x/, /\$ bbox export -o app\.tar/],
    rmi: [/--force/, /--dry-run/, /\$ bbox rmi --force/],
    'cache rm': [/--force/, /\$ bbox cache rm --dry-run/],
    'cache clone': [/DIR/, /\$ bbox cache clone /],
    'cache prune': [/--older-than DURATION/, /--max-size BYTES/, /\$ bbox cache prune --older-than 14d/],
  };
  for (const [cmd, patterns] of Object.entries(expected)) {
    const r = await sb.run([...cmd.split(' '), '--help']);
    t.equal(r.code, 0, `${cmd} --help exits 0`);
    t.match(r.stdout, /Examples/, `${cmd} --help has examples`);
    for (const p of patterns) t.match(r.stdout, p, `${cmd} --help mentions ${p}`);
    t.notOk(r.stdout.includes('\u001b['), `${cmd} --help has no colour codes when not on a terminal`);
  }
});

t.test('every command listed by --help names its option values (never #0)', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const top = await sb.run(['--help']);
  t.notMatch(top.stdout, /#\d/, 'bbox --help names every option value');
  // Taken from the listing itself, so a command added later is checked without editing this test.
  const listed = [...top.stdout.matchAll(/^ {2}bbox ([a-z-]+(?: [a-z-]+)?) /gm)].map((m) => m[1]!);
  for (const c of ['pull', 'run', 'login', 'logout', 'cache rm', 'registry-cache start']) t.ok(listed.includes(c), `--help lists ${c}`);
  for (const cmd of [...listed, 'rmi']) {
    const r = await sb.run([...cmd.split(' '), '--help']);
    t.equal(r.code, 0, `${cmd} --help exits 0`);
    t.match(r.stdout, /\$ bbox /, `${cmd} --help shows its usage`);
    t.notMatch(r.stdout, /#\d/, `${cmd} --help names every option value (never #0)`);
  }
  const login = await sb.run(['login', '--help']);
  t.match(login.stdout, /-u,--username USER/, 'login names the user name value');
});

t.test('command-line mistakes: one line and a hint on stderr, exit 2', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const cases: Array<[string[], string]> = [
    [['pul', 'alpine'], 'bbox: unknown command "pul"\nhint: did you mean bbox pull? see bbox --help for the commands\n'],
    [['cache', 'lst'], 'bbox: unknown command "cache lst"\nhint: did you mean bbox cache list? see bbox --help for the commands\n'],
    [['cache'], 'bbox: cache needs a subcommand: cache list, cache gc, cache purge, cache verify, cache rm, cache clone, cache prune\nhint: see bbox cache list --help (or gc, purge, verify, rm, clone, prune)\n'],
    [['cache', '--help'], 'bbox: cache needs a subcommand: cache list, cache gc, cache purge, cache verify, cache rm, cache clone, cache prune\nhint: see bbox cache list --help (or gc, purge, verify, rm, clone, prune)\n'],
    [['pull', '--bogus', 'alpine'], 'bbox: Unsupported option name ("--bogus")\nhint: see bbox pull --help\n'],
    [['pull'], 'bbox: Not enough positional arguments\nhint: see bbox pull --help\n'],
    [['pull', '--no-pull', '--pull', 'always', 'alpine'], 'bbox: --no-pull and --pull always contradict each other\nhint: use only --pull POLICY (--no-pull is a deprecated spelling of --pull never)\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = await sb.run(args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
    t.equal(r.stderr, stderr, args.join(' '));
  }
  const bare = await sb.run([]);
  t.equal(bare.code, 2, 'bare bbox is a usage error');
  t.match(bare.stderr, /bbox pull/);
});

t.test('run: bad option values are refused before anything is pulled', async (t) => {
  const sb = await makeSandbox();
  t.teardown(sb.cleanup);
  const cases: Array<[string[], RegExp]> = [
    [['run', '--cpus', 'two', 'alpine'], /^bbox: --cpus: "two" is not a CPU count; use a whole number greater than 0\n/],
    [['run', '--memory', '0', 'alpine'], /^bbox: --memory: "0" is not a memory size in MiB/],
    [['run', '-e', '1X=2', 'alpine'], /^bbox: -e: "1X=2" is not KEY=VALUE/],
    [['run', '-v', 'data', 'alpine'], /^bbox: -v: "data" is not HOST:GUEST\[:ro\]/],
    [['run', '-v', './d:rel', 'alpine'], /the guest path rel must be absolute/],
    [['run', '--timeout', 'soon', 'alpine'], /^bbox: --timeout: "soon" is not a duration/],
    [['run', '--accel', 'hvf', 'alpine'], /^bbox: --accel: "hvf" is not an accelerator; use one of auto, kvm, tcg/],
  ];
  for (const [args, re] of cases) {
    const r = await sb.run(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re, args.join(' '));
  }
});
