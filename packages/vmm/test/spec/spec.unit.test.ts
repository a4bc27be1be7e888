import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageConfig } from 'oci-client-lite';
import { buildVmSpec, checkVolumes, NoCommandError, parseVolume, UserNotFoundError, VmSpecError, readRootfsFile } from '../../src/index.js';
import { makeBusyboxRootfs } from '../guest-kernel.js';

const image = (config: ImageConfig['config']): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, config });

t.test('argv is Entrypoint + Cmd; cmd and entrypoint overrides follow docker run', async (t) => {
  const cfg = image({ Entrypoint: ['/bin/ep', '-x'], Cmd: ['default'] });
  t.same((await buildVmSpec(cfg)).argv, ['/bin/ep', '-x', 'default']);
  t.same((await buildVmSpec(cfg, { cmd: ['other'] })).argv, ['/bin/ep', '-x', 'other']);
  t.same((await buildVmSpec(cfg, { entrypoint: ['/bin/sh'] })).argv, ['/bin/sh'], 'a new entrypoint drops the image Cmd');
  t.same((await buildVmSpec(cfg, { entrypoint: ['/bin/sh'], cmd: ['-c', 'x'] })).argv, ['/bin/sh', '-c', 'x']);
  await t.rejects(buildVmSpec(image({})), NoCommandError);
});

t.test('env: image values, then overrides; PATH and HOME defaults', async (t) => {
  const spec = await buildVmSpec(image({ Cmd: ['x'], Env: ['A=1', 'B=2'] }), { env: { B: 'three', C: 'x=y' } });
  t.same(spec.env, ['A=1', 'B=three', 'C=x=y', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root']);
  const own = await buildVmSpec(image({ Cmd: ['x'], Env: ['PATH=/opt/bin'] }), { env: ['D=4'] });
  t.ok(own.env.includes('PATH=/opt/bin') && own.env.includes('D=4'));
  await t.rejects(buildVmSpec(image({ Cmd: ['x'] }), { env: ['novalue'] }), VmSpecError);
});

t.test('working dir, cpus, memory and timeout are checked', async (t) => {
  const cfg = image({ Cmd: ['x'], WorkingDir: '/app/' });
  const spec = await buildVmSpec(cfg, { cpus: 2, memoryMiB: 256, timeoutSeconds: 1.5 });
  t.equal(spec.workingDir, '/app');
  t.equal(spec.cpus, 2);
  t.equal(spec.memoryMiB, 256);
  t.equal(spec.timeoutMs, 1500);
  t.equal((await buildVmSpec(cfg, { workingDir: 'rel' })).workingDir, '/rel');
  await t.rejects(buildVmSpec(cfg, { cpus: 0 }), { code: 'VM_BAD_SPEC', message: /cpus 0/ });
  await t.rejects(buildVmSpec(cfg, { memoryMiB: 1.5 }), { code: 'VM_BAD_SPEC' });
  await t.rejects(buildVmSpec(cfg, { timeoutSeconds: -1 }), { code: 'VM_BAD_SPEC', message: /timeout/ });
});

t.test('users resolve from the rootfs passwd and group files', async (t) => {
  const root = makeBusyboxRootfs(t.testdir());
  const cfg = image({ Cmd: ['x'], User: 'app' });
  const app = await buildVmSpec(cfg, {}, root);
  t.same([app.uid, app.gid], [1000, 1000]);
  t.ok(app.env.includes('HOME=/home/app'));
  const grp = await buildVmSpec(cfg, { user: 'app:staff' }, root);
  t.same([grp.uid, grp.gid], [1000, 50]);
  const num = await buildVmSpec(cfg, { user: '4242:7' }, root);
  t.same([num.uid, num.gid], [4242, 7]);
  const known = await buildVmSpec(cfg, { user: '1000' }, root);
  t.equal(known.gid, 1000, 'a bare uid takes its gid from passwd');
  await t.rejects(buildVmSpec(cfg, { user: 'nobody' }, root), UserNotFoundError);
  await t.rejects(buildVmSpec(cfg, { user: 'app:nogroup' }, root), UserNotFoundError);
  await t.rejects(buildVmSpec(cfg, { user: 'a:b:c' }, root), VmSpecError);
});

t.test('rootfs files are read through symlinks confined to the rootfs', async (t) => {
  const dir = t.testdir({ outside: { passwd: 'evil:x:0:0::/:/bin/sh\n' } });
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'real'), { recursive: true });
  writeFileSync(join(root, 'real/passwd'), 'inside:x:5:5::/home/inside:/bin/sh\n');
  // An absolute symlink is resolved inside the rootfs, never on the host.
  symlinkSync(join(dir, 'outside/passwd'), join(root, 'etc/passwd'));
  t.equal(await readRootfsFile(root, '/etc/passwd'), undefined, 'absolute target outside: not followed to the host');
  symlinkSync('../../../../outside/passwd', join(root, 'escape'));
  t.equal(await readRootfsFile(root, '/escape'), undefined, '.. stops at the rootfs');
  symlinkSync('/real/passwd', join(root, 'inroot'));
  t.match(await readRootfsFile(root, '/inroot'), /^inside:/, 'absolute target inside the rootfs is followed');
  await t.rejects(buildVmSpec(image({ Cmd: ['x'] }), { user: 'evil' }, root), UserNotFoundError);
});

t.test('volumes parse as HOST:GUEST[:ro] and are checked', async (t) => {
  const dir = t.testdir({ share: {} });
  t.same(parseVolume(`${dir}/share:/data:ro`), { host: `${dir}/share`, guest: '/data', readOnly: true });
  t.same(parseVolume(`${dir}/share:/data`), { host: `${dir}/share`, guest: '/data', readOnly: false });
  t.throws(() => parseVolume('/x'), VmSpecError);
  t.throws(() => parseVolume('/x:/y:rx'), VmSpecError);
  await t.rejects(checkVolumes([{ host: `${dir}/missing`, guest: '/data' }]), { code: 'VM_BAD_SPEC', message: /is not a directory/ });
  await t.rejects(checkVolumes([{ host: `${dir}/share`, guest: 'relative' }]), { code: 'VM_BAD_SPEC', message: /absolute/ });
});
