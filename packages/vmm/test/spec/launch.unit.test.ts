import t from 'tap';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookupCommand, type ResolvedLaunch } from '../../src/spec/launch.js';
import { specScript } from '../../src/guest/guest-init.js';
import type { VmSpec } from '../../src/spec/spec.js';

// The host-side lookup must find what the guest's exec script would find in the same tree, or
// leave the decision to the guest: a wrong answer would run a different program than asked.

const spec = (argv: string[], over: Partial<VmSpec> = {}): VmSpec => ({
  argv,
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/root'],
  workingDir: '/',
  uid: 0,
  gid: 0,
  cpus: 1,
  memoryMiB: 256,
  ...over,
});

/** The launch when the host found the command, else undefined. */
async function resolveLaunch(root: string, s: VmSpec): Promise<ResolvedLaunch | undefined> {
  const r = await lookupCommand(root, s);
  return r.kind === 'found' ? r.launch : undefined;
}

/** The guest script's answer when the host knows the command is missing, else undefined. */
async function missingCommand(root: string, s: VmSpec): Promise<{ message: string; exitCode: number } | undefined> {
  const r = await lookupCommand(root, s);
  return r.kind === 'missing' ? { message: r.message, exitCode: r.exitCode } : undefined;
}

function exe(path: string, mode = 0o755): void {
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, mode);
}

const root = t.testdir({ usr: { bin: {}, local: { bin: {} } }, srv: { app: {} }, opt: {}, dev: {}, etc: { 'passwd-copy': 'x' } });
exe(join(root, 'usr/bin/tool'));
exe(join(root, 'usr/local/bin/notexec'), 0o644);
exe(join(root, 'usr/bin/notexec'));
mkdirSync(join(root, 'usr/local/bin/isdir'));
exe(join(root, 'usr/bin/isdir'));
symlinkSync('usr/bin', join(root, 'bin'));
symlinkSync('/usr/bin/tool', join(root, 'usr/local/bin/linked'));
symlinkSync('/etc/passwd', join(root, 'usr/local/bin/hostfile'));
symlinkSync('/srv/app', join(root, 'opt/current'));
exe(join(root, 'srv/app/run.sh'));
exe(join(root, 'srv/top.sh'));
exe(join(root, 'dev/hidden'));

t.test('argv[0] is looked up in PATH in order: regular files with an execute bit only', async (t) => {
  t.same(await resolveLaunch(root, spec(['tool'])), { workDir: '/', command: '/usr/bin/tool' });
  t.same(await resolveLaunch(root, spec(['notexec'])), { workDir: '/', command: '/usr/bin/notexec' }, 'a file without an execute bit is skipped');
  t.same(await resolveLaunch(root, spec(['isdir'])), { workDir: '/', command: '/usr/bin/isdir' }, 'a directory is skipped');
  t.same(await resolveLaunch(root, spec(['linked'])), { workDir: '/', command: '/usr/local/bin/linked' }, 'an absolute symlink resolves inside the rootfs');
  t.equal(await resolveLaunch(root, spec(['missing'])), undefined, 'not found: the guest reports it');
  t.equal(await resolveLaunch(root, spec(['hostfile'])), undefined, "a symlink to a host path is not the host's file");
  t.equal(await resolveLaunch(root, spec(['tool'], { env: ['HOME=/'] })), undefined, 'no PATH: the guest decides');
  t.same(await resolveLaunch(root, spec(['tool'], { env: ['PATH=/bin'] })), { workDir: '/', command: '/bin/tool' }, 'the PATH entry is kept as written');
  t.same(
    await resolveLaunch(root, spec(['tool'], { env: ['PATH=/nowhere', 'PATH=/usr/bin'] })),
    { workDir: '/', command: '/usr/bin/tool' },
    'the last PATH entry counts',
  );
});

t.test('the working directory is resolved inside the rootfs; relative paths start there', async (t) => {
  t.same(await resolveLaunch(root, spec(['./run.sh'], { workingDir: '/opt/current' })), { workDir: '/srv/app', command: './run.sh' });
  t.same(
    await resolveLaunch(root, spec(['../top.sh'], { workingDir: '/opt/current' })),
    { workDir: '/srv/app', command: '../top.sh' },
    '.. after a symlink goes to the target’s parent, as in the kernel',
  );
  t.same(await resolveLaunch(root, spec(['/usr/bin/tool'], { workingDir: '/srv' })), { workDir: '/srv', command: '/usr/bin/tool' });
  t.same(await resolveLaunch(root, spec(['run.sh'], { workingDir: '/srv/app', env: ['PATH=.'] })), { workDir: '/srv/app', command: './run.sh' });
  t.equal(await resolveLaunch(root, spec(['tool'], { workingDir: '/srv/missing' })), undefined, 'a missing working directory is made by the guest');
  t.equal(await resolveLaunch(root, spec(['tool'], { workingDir: '/usr/bin/tool' })), undefined, 'a file is no working directory');
  t.equal(await resolveLaunch(root, spec(['/nope/tool'])), undefined);
  t.equal(await resolveLaunch(root, spec(['/dev/hidden'])), undefined, 'under a guest mount point the rootfs is hidden');
  t.equal(await resolveLaunch(root, spec(['tool'], { workingDir: '/dev' })), undefined);
});

t.test('the spec runs a found command with nsenter, anything else with the exec script', async (t) => {
  const found = specScript(spec(['tool', 'a b'], { uid: 1000, gid: 50 }), { launch: { workDir: '/srv', command: '/usr/bin/tool' } });
  t.match(found, /^set -- 'env' '-i' '--' 'PATH=[^']*' 'HOME=\/root' '\/bin\/busybox' 'nsenter' '-F' '-r\/newroot' '-w\/newroot\/srv' '-S' '1000' '-G' '50' '--' '\/usr\/bin\/tool' 'a b'$/m);
  const asRoot = specScript(spec(['tool']), { launch: { workDir: '/', command: '/usr/bin/tool' } });
  t.notMatch(asRoot, /'-S'/, 'root keeps its ids');
  const script = specScript(spec(['tool']));
  t.match(script, /^set -- 'chroot' '\/newroot' .* 'sh' '-c' '[^]*' 'bbox-exec' '\/' '0' '0' 'tool'$/m);
});

t.test('a bare command in no PATH directory gets the guest script\'s answer without a boot, when certain', async (t) => {
  t.same(await missingCommand(root, spec(['missing'])), { message: 'bbox: missing: not found in PATH (/usr/local/bin:/usr/bin:/bin)\n', exitCode: 127 });
  t.same(await missingCommand(root, spec(['hostfile'])), { message: 'bbox: hostfile: not found in PATH (/usr/local/bin:/usr/bin:/bin)\n', exitCode: 127 }, 'a link out of the rootfs finds nothing');
  t.equal(await missingCommand(root, spec(['tool'])), undefined, 'found: nothing to say');
  t.equal(await missingCommand(root, spec(['missing'], { workingDir: '/srv/missing' })), undefined, 'a working directory the guest makes: the guest decides');
  t.equal(await missingCommand(root, spec(['missing'], { env: ['PATH=/dev/bin:/usr/bin'] })), undefined, 'a PATH directory under a guest mount: the guest decides');
  t.equal(await missingCommand(root, spec(['./missing'])), undefined, 'a path, not a bare name: the guest decides');
});
