// Real QEMU microVMs (TCG is fine) booting a real Debian cloud kernel and a busybox rootfs.
import t from 'tap';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ImageConfig } from 'oci-client-lite';
import { KernelNotFoundError, runVm, VmAbortedError, VmBootError, VmTimeoutError, type RunVmOptions } from '../../src/index.js';
import { kernelDir, makeBusyboxRootfs, makeGlibcRootfs } from '../guest-kernel.js';

const kernels = kernelDir();
const base = t.testdir({ work: {}, cache: {}, disks: {} });
const rootfs = makeBusyboxRootfs(join(base, 'rootfs'));
const diskPath = join(base, 'disks', 'busybox.ext4');
const config: ImageConfig = {
  rootfs: { type: 'layers', diff_ids: [] },
  config: { Env: ['IMAGE_VAR=from-image', 'SHARED=image'], Cmd: ['echo', 'default command'], WorkingDir: '/srv' },
};

/** Starts a run with the shared image and captures the program's stdout and stderr. */
function run(extra: Partial<RunVmOptions> = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  const got = { out: '', err: '' };
  out.on('data', (d: Buffer) => (got.out += d.toString()));
  err.on('data', (d: Buffer) => (got.err += d.toString()));
  const result = runVm({
    rootfsPath: rootfs,
    digest: 'sha256:' + '0'.repeat(64),
    config,
    diskPath,
    workDir: join(base, 'work'),
    cacheDir: join(base, 'cache'),
    kernel: { kernelDirs: [kernels], searchHost: false },
    stdout: out,
    stderr: err,
    ...extra,
  });
  return { got, result };
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

t.test('the image command runs; its stdout and stderr arrive apart from kernel messages', async (t) => {
  const console: string[] = [];
  const { got, result } = run({ onConsole: (l) => console.push(l) });
  const r = await result;
  t.equal(r.exitCode, 0);
  t.equal(got.out, 'default command\n', 'stdout holds exactly the program output');
  t.equal(got.err, '');
  t.equal(r.root, 'share', 'the root is the rootfs directory, shared');
  t.notOk(r.diskBuilt, 'a shared root builds no disk');
  t.notOk(existsSync(diskPath), 'no disk image was written');
  t.notMatch(got.out, /Linux|kernel|bbox-init/i);

  const two = run({ cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7'] });
  const r2 = await two.result;
  t.equal(r2.exitCode, 7, 'the guest exit status is the result');
  t.equal(two.got.out, 'to-out\n');
  t.equal(two.got.err, 'to-err\n');
});

t.test('a disk root (root: disk): built by the first run, reused by the next', async (t) => {
  const first = await run({ root: 'disk', cmd: ['echo', 'from disk'] }).result;
  t.equal(first.exitCode, 0);
  t.equal(first.root, 'disk');
  t.ok(first.diskBuilt, 'the first run builds the root disk');
  const again = run({ root: 'disk', cmd: ['sh', '-c', 'echo to-out; exit 7'] });
  const second = await again.result;
  t.equal(second.exitCode, 7);
  t.equal(again.got.out, 'to-out\n');
  t.notOk(second.diskBuilt, 'the second run reuses the disk');
});

t.test('env, working dir and user apply in the guest', async (t) => {
  const { got, result } = run({
    cmd: ['sh', '-c', 'echo "$IMAGE_VAR $SHARED $EXTRA"; pwd; id -u; id -g; echo "$HOME"'],
    env: { SHARED: 'override', EXTRA: 'x y' },
    workingDir: '/tmp/newdir',
    user: 'app:staff',
  });
  t.equal((await result).exitCode, 0, got.err);
  t.equal(got.out, 'from-image override x y\n/tmp/newdir\n1000\n50\n/home/app\n');
});

t.test('a guest write reaches neither the rootfs nor the next run; root in the guest cannot write through the share', async (t) => {
  const write = 'echo changed > /srv/data.txt && touch /srv/new && rm /bin/true && cat /srv/data.txt';
  const { got, result } = run({ cmd: ['sh', '-c', write] });
  t.equal((await result).exitCode, 0, got.err);
  t.equal(got.out, 'changed\n', 'the guest saw its own writes');
  t.equal(readFileSync(join(rootfs, 'srv/data.txt'), 'utf8'), 'original\n', 'rootfs unchanged');
  t.ok(existsSync(join(rootfs, 'bin/true')) && !existsSync(join(rootfs, 'srv/new')), 'nothing removed or added in the rootfs');
  const next = run({ cmd: ['sh', '-c', 'cat /srv/data.txt; ls /srv'] });
  t.equal((await next.result).exitCode, 0);
  t.equal(next.got.out, 'original\ndata.txt\n', 'the next run starts from the image again');

  // Root in the guest mounts the share again, read-write, and tries to write through it.
  const attack = 'mkdir -p /mnt/r && mount -t virtiofs bboxroot /mnt/r; echo x > /mnt/r/srv/data.txt; echo y > /mnt/r/evil; mount -o remount,rw /mnt/r; echo z > /mnt/r/evil2; grep -c original /mnt/r/srv/data.txt';
  const hostile = run({ cmd: ['sh', '-c', attack] });
  await hostile.result;
  t.match(hostile.got.err, /Read-only file system/, 'writes through the share are refused');
  t.equal(readFileSync(join(rootfs, 'srv/data.txt'), 'utf8'), 'original\n', 'rootfs unchanged after the attempt');
  t.notOk(existsSync(join(rootfs, 'evil')) || existsSync(join(rootfs, 'evil2')), 'no file made in the rootfs');
});

t.test("a shared root's writable layer is on the host's disk: the guest writes more than its memory", async (t) => {
  const { got, result } = run({ memoryMiB: 256, cmd: ['sh', '-c', 'dd if=/dev/zero of=/srv/big bs=1M count=300 2>/dev/null && wc -c < /srv/big'] });
  t.equal((await result).exitCode, 0, got.err);
  t.equal(got.out.trim(), String(300 << 20), '300 MiB written in a 256 MiB guest');
  t.notOk(existsSync(join(rootfs, 'srv/big')), 'not in the rootfs');
  t.same(readdirSync(join(base, 'work')), [], "the VM's files, its writes among them, are gone");
});

t.test('a guest write changes neither the base disk, the rootfs, nor the next run (disk root)', async (t) => {
  await run({ root: 'disk', cmd: ['true'] }).result;
  const before = sha256(diskPath);
  const { got, result } = run({ root: 'disk', cmd: ['sh', '-c', 'echo changed > /srv/data.txt; touch /srv/new; cat /srv/data.txt'] });
  t.equal((await result).exitCode, 0);
  t.equal(got.out, 'changed\n', 'the guest saw its own write');
  t.equal(sha256(diskPath), before, 'base disk unchanged');
  t.equal(readFileSync(join(rootfs, 'srv/data.txt'), 'utf8'), 'original\n', 'rootfs unchanged');
  const next = run({ root: 'disk', cmd: ['sh', '-c', 'cat /srv/data.txt; ls /srv'] });
  t.equal((await next.result).exitCode, 0);
  t.equal(next.got.out, 'original\ndata.txt\n', 'the next run starts from the image again');
});

t.test("a shared root whose owners cannot be read: the run fails with the reason, and nothing runs", async (t) => {
  const { got, result } = run({ owners: async () => Promise.reject(new Error('layer index unreadable')), cmd: ['echo', 'ran'] });
  await t.rejects(result, /layer index unreadable/);
  t.equal(got.out, '', 'the command never ran');
  t.same(readdirSync(join(base, 'work')), []);
});

t.test('timeout and abort stop the VM and remove its files', async (t) => {
  const work = join(base, 'work');
  const timed = run({ cmd: ['sleep', '600'], timeoutSeconds: 1 });
  await t.rejects(timed.result, VmTimeoutError);
  t.same(readdirSync(work), [], 'no per-VM files left after a timeout');

  const ac = new AbortController();
  const aborted = run({ cmd: ['sh', '-c', 'echo up; sleep 600'], signal: ac.signal });
  // Abort once the guest program has produced output, i.e. it really runs.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (aborted.got.out.includes('up')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
  ac.abort();
  await t.rejects(aborted.result, VmAbortedError);
  t.same(readdirSync(work), [], 'no per-VM files left after an abort');
});

t.test('a VM that cannot boot reports its last console lines', async (t) => {
  const bad = join(base, 'disks', 'not-ext4.img');
  // Zeros, but with the label of a current root disk where ext4 keeps it, so it is not rebuilt.
  const zeros = Buffer.alloc(1 << 20);
  zeros.write('bbox-root3', 1024 + 0x78, 'latin1');
  writeFileSync(bad, zeros);
  const { result } = run({ root: 'disk', diskPath: bad, cmd: ['true'] });
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, VmBootError);
  t.match((err as VmBootError).message, /cannot mount the root disk/);
  t.match((err as VmBootError).consoleTail.join('\n'), /bbox-init: cannot mount/);
  t.same(readdirSync(join(base, 'work')), []);
});

t.test('a missing kernel gives the clear error before anything starts', async (t) => {
  const empty = t.testdir();
  const { result } = run({ kernel: { kernelDirs: [empty], searchHost: false } });
  await t.rejects(result, KernelNotFoundError);
  await t.rejects(run({ kernel: { kernelDirs: [empty], searchHost: false } }).result, { code: 'VM_KERNEL_NOT_FOUND', message: /fetch-kernel\.sh/ });
});

t.test('a Debian-like glibc root runs its own GNU programs, not busybox applets', async (t) => {
  const glibc = makeGlibcRootfs(join(base, 'glibc-rootfs'));
  const { got, result } = run({
    rootfsPath: glibc,
    diskPath: join(base, 'disks', 'glibc.ext4'),
    config: { rootfs: { type: 'layers', diff_ids: [] }, config: { Entrypoint: ['bash', '-c'], Cmd: ['echo "bash $BASH_VERSION"; ls --version'] } },
  });
  t.equal((await result).exitCode, 0, got.err);
  t.match(got.out, /^bash 5\..*\nls \(GNU coreutils\)/);
});

t.test('network: user-mode networking reaches a host service only when asked for', async (t) => {
  const server = createServer((_req, res) => res.end('hello from the host\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  // The host's loopback is the guest's 10.0.2.2.
  const get = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 10.0.2.2 ${(server.address() as AddressInfo).port}`;
  const on = run({ cmd: ['sh', '-c', get], network: true });
  t.equal((await on.result).exitCode, 0, on.got.err);
  t.match(on.got.out, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello from the host\n$/);
  const off = run({ cmd: ['sh', '-c', get] });
  t.not((await off.result).exitCode, 0, 'no network device without network: true');
});

t.test('volumes: a host directory is shared read-write, or read-only even against a guest remount', async (t) => {
  const share = join(base, 'share');
  mkdirSync(share);
  writeFileSync(join(share, 'in.txt'), 'from the host\n');
  const rw = run({ cmd: ['sh', '-c', 'cat /data/in.txt && echo from the guest > /data/out.txt'], volumes: [{ host: share, guest: '/data' }] });
  t.equal((await rw.result).exitCode, 0, rw.got.err);
  t.equal(rw.got.out, 'from the host\n');
  t.equal(readFileSync(join(share, 'out.txt'), 'utf8'), 'from the guest\n', 'the write reached the host');

  const ro = run({
    cmd: ['sh', '-c', 'cat /data/in.txt; echo x > /data/ro.txt; mount -o remount,rw /data; echo x > /data/ro2.txt'],
    volumes: [{ host: share, guest: '/data', readOnly: true }],
  });
  t.not((await ro.result).exitCode, 0);
  t.equal(ro.got.out, 'from the host\n');
  t.match(ro.got.err, /Read-only file system/);
  t.notOk(existsSync(join(share, 'ro.txt')) || existsSync(join(share, 'ro2.txt')), 'nothing written through a read-only share');
});

t.test('a command found on the host runs exactly as one the guest looks up itself', async (t) => {
  const probe = ['sh', '-c', 'pwd; id -u; id -g; env | sort'];
  const share = join(base, 'empty-share');
  mkdirSync(share, { recursive: true });
  // No shared directory: the host finds sh and the guest runs it with nsenter. With one, the guest's
  // exec script looks it up (a share could hide or add programs).
  const fast = run({ cmd: probe, workingDir: '/srv', user: 'app:staff' });
  const looked = run({ cmd: probe, workingDir: '/srv', user: 'app:staff', volumes: [{ host: share, guest: '/mnt/share', readOnly: true }] });
  t.equal((await fast.result).exitCode, 0, fast.got.err);
  t.equal((await looked.result).exitCode, 0, looked.got.err);
  t.equal(fast.got.out, looked.got.out, 'same directory, ids and environment');
  t.match(fast.got.out, /^\/srv\n1000\n50\n/);
});

t.test('a command in no PATH directory: the same message and 127, without a boot when no share is mounted', async (t) => {
  const share = join(base, 'empty-share');
  mkdirSync(share, { recursive: true });
  const early = run({ cmd: ['no-such-command', 'arg'] });
  const booted = run({ cmd: ['no-such-command', 'arg'], volumes: [{ host: share, guest: '/mnt/share', readOnly: true }] });
  const [e, b] = [await early.result, await booted.result];
  t.equal(e.exitCode, 127);
  t.equal(b.exitCode, 127);
  t.equal(early.got.err, booted.got.err, 'the host says what the guest says');
  t.match(early.got.err, /^bbox: no-such-command: not found in PATH \(/);
  t.equal(e.machineMs, 0, 'no machine was started');
  t.ok(b.machineMs > 0, 'with a share, the guest looked it up');
});

t.test('a disk made by an older bbox (another label) is rebuilt, not booted', async (t) => {
  const old = join(base, 'disks', 'old-format.ext4');
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'bbox-root', '-d', rootfs, old, '64M']);
  const { got, result } = run({ root: 'disk', diskPath: old, cmd: ['echo', 'booted'] });
  const r = await result;
  t.equal(r.exitCode, 0, got.err);
  t.ok(r.diskBuilt, 'the old disk was replaced by a new build');
  t.equal(execFileSync('e2label', [old], { encoding: 'utf8' }).trim(), 'bbox-root3');
});
