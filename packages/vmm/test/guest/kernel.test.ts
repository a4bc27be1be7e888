import t from 'tap';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findKernel, KernelModuleError, KernelNotFoundError, resolveModules } from '../../src/index.js';
import { kernelDir } from '../guest-kernel.js';

const kernels = kernelDir();

t.test('discovery finds the unpacked Debian cloud kernel and its modules', async (t) => {
  const k = await findKernel({ kernelDirs: [kernels], searchHost: false });
  t.match(k.version, /-cloud-amd64$/);
  t.match(k.kernel, new RegExp(`boot/vmlinuz-${k.version}$`));
  t.match(k.modulesDir, new RegExp(`lib/modules/${k.version}$`));
  const explicit = await findKernel({ kernel: k.kernel });
  t.equal(explicit.modulesDir, k.modulesDir, 'modules are found beside an explicit kernel');
  await t.rejects(findKernel({ kernel: join(t.testdir(), 'nope') }), KernelNotFoundError);
});

t.test('modules: dependencies first, built-ins skipped, with or without modules.dep', async (t) => {
  const k = await findKernel({ kernelDirs: [kernels], searchHost: false });
  const dir = k.modulesDir as string;
  const names = (await resolveModules(dir, ['virtio_mmio', 'virtio_blk', 'ext4'])).map((m) => m.name);
  t.ok(names.indexOf('virtio_ring') < names.indexOf('virtio_mmio') && names.indexOf('virtio') < names.indexOf('virtio_blk'), names.join(' '));
  t.notOk(names.includes('ext4'), 'ext4 is built into this kernel');

  // The same answer from the modules' own depends= fields when depmod never ran.
  const bare = t.testdir();
  for (const f of ['modules.builtin', 'modules.order']) cpSync(join(dir, f), join(bare, f));
  cpSync(join(dir, 'kernel/drivers/virtio'), join(bare, 'kernel/drivers/virtio'), { recursive: true });
  cpSync(join(dir, 'kernel/drivers/block/virtio_blk.ko'), join(bare, 'kernel/drivers/block/virtio_blk.ko'));
  t.same((await resolveModules(bare, ['virtio_mmio', 'virtio_blk'])).map((m) => m.name), names);
  await t.rejects(resolveModules(bare, ['virtio_console']), KernelModuleError);
});

t.test('a kernel image rootfs is searched inside itself only', async (t) => {
  const k = await findKernel({ kernelDirs: [kernels], searchHost: false });
  const img = t.testdir();
  mkdirSync(join(img, 'boot'));
  cpSync(k.kernel, join(img, 'boot', `vmlinuz-${k.version}`));
  mkdirSync(join(img, 'lib/modules'), { recursive: true });
  // A module directory that is a symlink to the host's: followed inside the image, so not found.
  symlinkSync(k.modulesDir as string, join(img, 'lib/modules', k.version));
  const found = await findKernel({ kernelImage: img });
  t.equal(found.kernel, join(img, 'boot', `vmlinuz-${k.version}`));
  t.equal(found.modulesDir, undefined, 'an absolute symlink is resolved in the image, not on the host');
  const empty = t.testdir({ boot: {} });
  await t.rejects(findKernel({ kernelImage: empty }), { code: 'VM_KERNEL_NOT_FOUND' });
});
