// bbox pull and bbox run as an unprivileged user, against the same runs as root: the guest sees the
// image's owners and modes either way, su and setuid programs work, root-only files stay closed,
// and the host tools are found with a PATH that lacks /usr/sbin and /sbin.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestUser, giveTo, OWNERS_GUEST_REPORT, ownersImage, pushImage, runNodeAs, startRegistry, tempDir, type TestUser } from '@broodbox/testkit';
import { bundleCli, readableKernelDir } from './unprivileged-cli.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));

function kernelDir(): string {
  const dir = process.env.BBOX_KERNEL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'broodbox', 'kernel');
  execFileSync('bash', [join(repo, 'scripts/fetch-kernel.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

t.test('the guest sees the same owners and modes whether bbox ran as root or as a user', async (t) => {
  const user = ensureTestUser();
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'owners/debianish', ownersImage(), { tag: '1' });
  const ref = `${reg.host}/owners/debianish:1`;

  const work = await tempDir(t, 'bbox-rootless-run-');
  execFileSync('chmod', ['0755', work]);
  const bundle = await bundleCli(work);
  const kernels = readableKernelDir(kernelDir(), work);

  /** pull then run, with a HOME and cache of the runner's own, and a PATH without the sbin directories. */
  const session = async (who: string, runner: TestUser | undefined, extraEnv: Record<string, string> = {}) => {
    const home = join(work, `home-${who}`);
    mkdirSync(home);
    if (runner) giveTo(runner, home);
    const env = { HOME: home, PATH: '/usr/local/bin:/usr/bin:/bin', BBOX_KERNEL_DIR: kernels, LANG: 'C.UTF-8', ...extraEnv };
    const cache = join(home, 'cache');
    const pull = await runNodeAs(runner, bundle, ['pull', '--json', '--cache-dir', cache, ref], { env, cwd: home });
    t.equal(pull.code, 0, `${who}: pull: ${pull.stderr}`);
    const run = await runNodeAs(runner, bundle, ['run', '--cache-dir', cache, '--accel', 'tcg', ref, '--', ...OWNERS_GUEST_REPORT], { env, cwd: home });
    t.equal(run.code, 0, `${who}: run: ${run.stderr}`);
    // The first run sent the owners script on its own port while the VM booted; the next one
    // finds it kept beside the entry and puts it in the initramfs: the same tree either way.
    const again = await runNodeAs(runner, bundle, ['run', '--cache-dir', cache, '--accel', 'tcg', ref, '--', ...OWNERS_GUEST_REPORT], { env, cwd: home });
    t.equal(again.stdout, run.stdout, `${who}: the second run sees what the first saw`);
    return { ...run, rootfs: (JSON.parse(pull.stdout) as { rootfs: string }).rootfs };
  };

  // The default root is the rootfs shared over virtio-fs; BBOX_VM_ROOT=disk boots an ext4 copy.
  const asRoot = await session('root', undefined);
  const asUser = await session('user', user);
  const rootDisk = await session('root-disk', undefined, { BBOX_VM_ROOT: 'disk' });
  // Where no user namespace may be made, virtiofsd cannot run without root: the root is a disk,
  // and debugfs sets every owner itself.
  const noUserns = await session('user-no-userns', user, { BBOX_DISK_USERNS: '0' });
  // What the guest must see: the tree the root pull made, as lstat and sha256 see it on the host.
  // No rootfs holds special files (docs/cache-layout.md): the image's two devices and FIFO are added.
  const want = hostReport(asRoot.rootfs, {
    '/var/null': ['c', '0 0 666'],
    '/var/loop9': ['b', '0 6 660'],
    '/var/pipe': ['p', '42 42 620'],
  });
  for (const [who, got] of [['root', asRoot], ['user', asUser], ['root, disk root', rootDisk], ['user without user namespaces', noUserns]] as const) {
    t.same(guestTree(got.stdout), want, `${who}: path, type, owner, group and mode of every entry, size and hash of every file, as in the rootfs`);
  }
  t.equal(noUserns.stdout, asRoot.stdout, 'the same tree when mkfs.ext4 cannot run as mapped root');
  t.equal(rootDisk.stdout, asRoot.stdout, 'the same tree from a disk root');
  t.ok(want.types.includes('/var/swap/was-file-now-link l') && want.types.includes('/var/cache/x/new f') && !want.types.some((l) => l.startsWith('/var/cache/x/old')), 'the image has its type changes and opaque directory');
  const [tree, su] = asUser.stdout.split('---\n');
  t.equal(asUser.stdout, asRoot.stdout, 'the guest prints the same tree and su results for both');
  t.notMatch(tree, new RegExp(` ${user.uid} | ${user.gid} `), "no uid or gid of the host user reaches the guest");
  const lines = new Set(tree!.split('\n'));
  for (const want of [
    '/ 0 0 755',
    '/etc/shadow 0 42 640',
    '/etc/gshadow 0 0 0',
    '/root 0 0 550',
    '/root/.profile 0 0 640',
    '/usr/bin/su 0 0 4755',
    '/usr/bin/id-suid 0 0 4755',
    '/usr/bin/id-suid-link 0 0 4755',
    '/root-only 0 0 700',
    '/root-only/secret 0 0 600',
    '/srv/app 42 42 750',
    '/srv/app/data 42 42 640',
    '/srv/app/link 42 42 777',
    '/srv/nobody-file 65534 65534 644',
    '/var/mail 0 8 2775',
    '/tmp 0 0 1777',
    '/var/null 0 0 666',
    '/var/loop9 0 6 660',
    '/var/pipe 42 42 620',
    '/opt/thing 42 42 711',
  ]) {
    t.ok(lines.has(want), `the guest sees ${want}`);
  }
  t.notOk([...lines].some((l) => l.startsWith('/opt/gone ')), 'the whiteout removed /opt/gone');
  t.match(su, /^65534\n0\ncat: \/root-only\/secret: Permission denied\nsu exit 1\n$/, 'su drops to nobody, the setuid program runs as root, the root-only file stays closed');
  t.equal(asUser.stderr, asRoot.stderr, 'nothing more is said to the user than to root');
});

/** The report's tree sections, less the guest's own mount points (/proc, /sys, /dev are not in the image). */
function guestTree(stdout: string): { owners: string[]; types: string[]; sizes: string[]; hashes: string[] } {
  const [owners, , types, sizes, hashes] = stdout.split('---\n').map((s) => s.split('\n').filter(Boolean));
  const image = (line: string) => !/^\/(proc|sys|dev)( |$)/.test(line);
  return { owners: owners!.filter(image), types: types!.filter(image), sizes: sizes!, hashes: hashes! };
}

/** The same sections made on the host from a rootfs (lstat of every path, sha256 of every regular file), plus `special` files. */
function hostReport(rootfs: string, special: Record<string, [type: string, owner: string]>): ReturnType<typeof guestTree> {
  const owners: string[] = [];
  const types: string[] = [];
  const sizes: string[] = [];
  const hashes: Array<[string, string]> = [];
  const walk = (host: string, guest: string) => {
    const st = lstatSync(host);
    owners.push(`${guest} ${st.uid} ${st.gid} ${(st.mode & 0o7777).toString(8)}`);
    const y = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : 's';
    types.push(`${guest} ${y}`);
    if (st.isFile()) {
      sizes.push(`${guest} ${st.size}`);
      hashes.push([guest, `${createHash('sha256').update(readFileSync(host)).digest('hex')}  ${guest}`]);
    }
    if (st.isDirectory()) for (const name of readdirSync(host)) walk(join(host, name), `${guest === '/' ? '' : guest}/${name}`);
  };
  walk(rootfs, '/');
  for (const [path, [type, owner]] of Object.entries(special)) {
    types.push(`${path} ${type}`);
    owners.push(`${path} ${owner}`);
  }
  const sorted = (a: string[]) => [...a].sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))));
  return { owners: sorted(owners), types: sorted(types), sizes: sorted(sizes), hashes: hashes.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))).map(([, l]) => l) };
}

t.test('as a user: shared directories through a user namespace, and one line about /dev/kvm before TCG', async (t) => {
  const user = ensureTestUser();
  // A subordinate id range, as useradd gives one where /etc/subuid exists (idempotent).
  const subuid = readFileSync('/etc/subuid', { encoding: 'utf8', flag: 'a+' });
  if (!subuid.split('\n').some((l) => l.startsWith(`${user.name}:`))) {
    execFileSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', user.name]);
  }
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await pushImage(reg.url, 'owners/shares', ownersImage(), { tag: '1' });
  const ref = `${reg.host}/owners/shares:1`;
  const work = await tempDir(t, 'bbox-rootless-share-');
  execFileSync('chmod', ['0755', work]);
  const bundle = await bundleCli(work);
  const kernels = readableKernelDir(kernelDir(), work);
  const home = join(work, 'home');
  const rw = join(work, 'rw');
  const ro = join(work, 'ro');
  giveTo(user, home, rw, ro);
  writeFileSync(join(ro, 'kept'), 'host file\n');
  chownSync(join(ro, 'kept'), user.uid, user.gid);
  const env = { HOME: home, PATH: '/usr/bin:/bin', BBOX_KERNEL_DIR: kernels, LANG: 'C.UTF-8' };
  const script = "echo from-guest > /rw/new; find /ro/kept -printf '%U %G\\n'; echo changed > /ro/kept || echo ro-refused";
  const run = await runNodeAs(user, bundle, ['run', '--cache-dir', join(home, 'cache'), '-v', `${rw}:/rw`, '-v', `${ro}:/ro:ro`, ref, '--', 'sh', '-c', script], {
    env,
    cwd: home,
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, '0 0\nro-refused\n', "the user's files are root's in the guest, and the read-only share refuses a write");
  t.equal(readFileSync(join(rw, 'new'), 'utf8'), 'from-guest\n', 'the guest wrote into the shared directory');
  t.equal(statSync(join(rw, 'new')).uid, user.uid, "what the guest's root writes belongs to the user on the host");
  t.equal(readFileSync(join(ro, 'kept'), 'utf8'), 'host file\n', 'the read-only share is unchanged');

  // --accel auto (the default): without access to /dev/kvm the user is told how to get it, once.
  const kvmClosed = existsSync('/dev/kvm') && spawnSync('test', ['-r', '/dev/kvm', '-a', '-w', '/dev/kvm'], { uid: user.uid, gid: user.gid }).status !== 0;
  const lines = run.stderr.split('\n').filter((l) => l.includes('/dev/kvm'));
  if (kvmClosed) {
    t.equal(lines.length, 1, run.stderr);
    t.match(lines[0], new RegExp(`^bbox: /dev/kvm is not accessible to ${user.name}.*group kvm.*running under TCG`));
  } else {
    t.same(lines, [], 'KVM is open to the user (or absent): nothing to say');
  }
});
