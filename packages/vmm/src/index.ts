/**
 * `@broodbox/vmm`: boot an OCI image's rootfs in a QEMU microVM and run its command.
 *
 * ```ts
 * import { runImage } from '@broodbox/vmm';
 * const { exitCode } = await runImage('alpine:3.20', { cmd: ['echo', 'hi'] });
 * ```
 * See docs/vm.md for kernels, accelerators, channels and limits.
 */
export { runImage, checkRunnablePlatform, type RunImageOptions, type RunImageResult } from './session/image-run.js';
export { ROOT_DISK_ARTIFACT, GUEST_OWNERS_ARTIFACT, vmArtifactNeeded } from './root/root-artifacts.js';
export { chooseRootMode, ROOT_REQUESTS, type RootMode, type RootRequest } from './root/root-mode.js';
export { guestOwnersScript, type GuestOwners } from './root/guest-owners.js';
export { startVirtiofsd, type Virtiofsd, type VirtiofsdOptions } from './host/virtiofsd.js';
export { startImage, type StartImageOptions, type ImageRun } from './session/image-streams.js';
export { VmControl } from './session/vm-control.js';
export type { WindowSize } from './guest/guest-init.js';
export { runVm, prepareBoot, type RunVmOptions, type RunVmResult, type PreparedBoot } from './session/run.js';
export { buildVmSpec, DEFAULT_PATH, DEFAULT_MEMORY_MIB, type VmSpec, type VmSpecOverrides } from './spec/spec.js';
export { resolveUser, type ResolvedUser } from './spec/users.js';
export { ensureRootDisk, measureTree, type RootDisk, type RootDiskOptions } from './disk/disk.js';
export { ownerScript, type DiskEntry, type DiskEntrySource, type CopiedStat, type OwnerScript } from './disk/disk-owners.js';
export { findKernel, kernelDigest, type KernelFiles, type KernelOptions } from './guest/kernel.js';
export { ensureInitramfs, specArchive, BASE_MODULES, NET_MODULES, FS_MODULES, DISK_MODULES, OVERLAY_MODULES, type Initramfs, type InitramfsOptions } from './guest/initramfs.js';
export { resolveModules, type KernelModule } from './guest/modules.js';
export { buildCpio, type CpioEntry } from './guest/cpio.js';
export { PORTS, PROBE_ARG, PROBE_MARK } from './guest/guest-init.js';
export { chooseAccelerator, probeBoot, ACCELERATORS, type AccelRequest, type AccelOptions } from './host/accel.js';
export { QemuBackend, qemuArgs, kernelCmdline, type QemuBackendOptions } from './host/qemu.js';
export type { Backend, Machine, MachineConfig, MachineExit, ChannelSpec, Accelerator } from './host/backend.js';
export { parseVolume, checkVolumes, startShares, type Volume, type Share } from './spec/volumes.js';
export { defaultKernelDirs, defaultVmCacheDir } from './host/paths.js';
export { findHostTool, SYSTEM_TOOL_DIRS } from './host/host-tool.js';
export { kvmAccessHint } from './host/accel.js';
export { readRootfsFile, resolveInRoot } from './spec/rootfs-read.js';
export * from './errors.js';
