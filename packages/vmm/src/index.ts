/**
 * `@broodbox/vmm`: boot an OCI image's rootfs in a QEMU microVM and run its command.
 *
 * ```ts
 * import { runImage } from '@broodbox/vmm';
 * const { exitCode } = await runImage('alpine:3.20', { cmd: ['echo', 'hi'] });
 * ```
 * See docs/vm.md for kernels, accelerators, channels and limits.
 */
export { runImage, checkRunnablePlatform, ROOT_DISK_ARTIFACT, type RunImageOptions, type RunImageResult } from './image-run.js';
export { startImage, type StartImageOptions, type ImageRun } from './image-streams.js';
export { VmControl } from './vm-control.js';
export type { WindowSize } from './guest-init.js';
export { runVm, prepareBoot, type RunVmOptions, type RunVmResult, type PreparedBoot } from './run.js';
export { buildVmSpec, DEFAULT_PATH, DEFAULT_MEMORY_MIB, type VmSpec, type VmSpecOverrides } from './spec.js';
export { resolveUser, type ResolvedUser } from './users.js';
export { ensureRootDisk, measureTree, type RootDisk, type RootDiskOptions } from './disk.js';
export { ownerScript, type DiskEntry, type DiskEntrySource, type CopiedStat, type OwnerScript } from './disk-owners.js';
export { findKernel, kernelDigest, type KernelFiles, type KernelOptions } from './kernel.js';
export { ensureInitramfs, specArchive, BASE_MODULES, NET_MODULES, FS_MODULES, type Initramfs, type InitramfsOptions } from './initramfs.js';
export { resolveModules, type KernelModule } from './modules.js';
export { buildCpio, type CpioEntry } from './cpio.js';
export { PORTS, PROBE_ARG, PROBE_MARK } from './guest-init.js';
export { chooseAccelerator, probeBoot, ACCELERATORS, type AccelRequest, type AccelOptions } from './accel.js';
export { QemuBackend, qemuArgs, kernelCmdline, type QemuBackendOptions } from './qemu.js';
export type { Backend, Machine, MachineConfig, MachineExit, ChannelSpec, Accelerator } from './backend.js';
export { parseVolume, checkVolumes, startShares, type Volume, type Share } from './volumes.js';
export { defaultKernelDirs, defaultVmCacheDir } from './paths.js';
export { findHostTool, SYSTEM_TOOL_DIRS } from './host-tool.js';
export { kvmAccessHint } from './accel.js';
export { readRootfsFile, resolveInRoot } from './rootfs-read.js';
export * from './errors.js';
