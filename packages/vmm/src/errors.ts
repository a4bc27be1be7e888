/**
 * Errors raised by `@broodbox/vmm`. Each has a stable string `code` that callers (the CLI, tests)
 * can switch on, and a message that names the thing at fault and says what to do about it.
 */

/**
 * Every `code` a VmError carries. Stable: callers switch on it, so a new code is a new member here
 * (and a type error in any exhaustive map over it, such as the bbox CLI's exit codes).
 */
export type VmErrorCode =
  | 'VM_BAD_SPEC'
  | 'VM_NO_COMMAND'
  | 'VM_USER_NOT_FOUND'
  | 'VM_KERNEL_NOT_FOUND'
  | 'VM_MODULE_MISSING'
  | 'VM_HOST_TOOL'
  | 'VM_DISK_BUILD'
  | 'VM_ACCEL_UNAVAILABLE'
  | 'VM_BOOT_FAILED'
  | 'VM_CRASHED'
  | 'VM_TIMEOUT'
  | 'VM_ABORTED'
  | 'VM_PLATFORM_NOT_RUNNABLE'
  | 'VM_BAD_RUN_OPTIONS';

/** Base class of every error this package raises: `(code, message)`. */
export class VmError extends Error {
  readonly code: VmErrorCode;
  constructor(code: VmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A VM option (cpus, memory, timeout, env, working dir...) has a value that cannot be used. */
export class VmSpecError extends VmError {
  constructor(message: string) {
    super('VM_BAD_SPEC', message);
  }
}

/** Neither the image (Entrypoint/Cmd) nor the caller gave a command to run. */
export class NoCommandError extends VmError {
  constructor() {
    super('VM_NO_COMMAND', 'the image defines no Entrypoint or Cmd and no command was given: pass a command to run');
  }
}

/** A user or group name is not in the rootfs' /etc/passwd or /etc/group. */
export class UserNotFoundError extends VmError {
  constructor(message: string) {
    super('VM_USER_NOT_FOUND', message);
  }
}

/** No kernel was given and none was found in the places searched. */
export class KernelNotFoundError extends VmError {
  readonly searched: string[];
  constructor(detail: string, searched: string[]) {
    super(
      'VM_KERNEL_NOT_FOUND',
      `no Linux kernel for the VM: ${detail}` +
        (searched.length ? ` (searched: ${searched.join(', ')})` : '') +
        '. Get one with `scripts/fetch-kernel.sh` (Debian linux-image-cloud-amd64, unpacked, not installed), ' +
        'or set vm.kernel (and vm.modules) to a kernel image and its modules directory, or BBOX_KERNEL_DIR to a directory holding one',
    );
    this.searched = searched;
  }
}

/** A kernel module the guest needs is neither built into the kernel nor present in its modules directory. */
export class KernelModuleError extends VmError {
  constructor(message: string) {
    super('VM_MODULE_MISSING', message);
  }
}

/** A host program the VM layer needs (qemu, mkfs.ext4, debugfs, virtiofsd, busybox) is missing or failed. */
export class HostToolError extends VmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VM_HOST_TOOL', message, options);
  }
}

/** The root disk image could not be built from the rootfs. */
export class DiskBuildError extends VmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VM_DISK_BUILD', message, options);
  }
}

/** The accelerator asked for (`kvm`) does not work on this host. */
export class AcceleratorError extends VmError {
  constructor(message: string) {
    super('VM_ACCEL_UNAVAILABLE', message);
  }
}

/** The VM stopped before the guest started the command; carries the last console lines. */
export class VmBootError extends VmError {
  readonly consoleTail: string[];
  constructor(reason: string, consoleTail: string[]) {
    super(
      'VM_BOOT_FAILED',
      `the VM failed to boot: ${reason}` +
        (consoleTail.length ? `\nlast console lines:\n  ${consoleTail.join('\n  ')}` : '\n(no console output)'),
    );
    this.consoleTail = consoleTail;
  }
}

/** The VM stopped after the command started but without reporting its exit status. */
export class VmCrashedError extends VmError {
  readonly consoleTail: string[];
  constructor(reason: string, consoleTail: string[]) {
    super(
      'VM_CRASHED',
      `the VM stopped before the command reported an exit status: ${reason}` +
        (consoleTail.length ? `\nlast console lines:\n  ${consoleTail.join('\n  ')}` : ''),
    );
    this.consoleTail = consoleTail;
  }
}

/** The VM ran longer than its timeout and was stopped. */
export class VmTimeoutError extends VmError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('VM_TIMEOUT', `the VM was stopped after its timeout of ${timeoutMs / 1000} s: raise the timeout or make the command finish sooner`);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired (e.g. Ctrl-C) and the VM was stopped. */
export class VmAbortedError extends VmError {
  constructor(options?: { cause?: unknown }) {
    super('VM_ABORTED', 'the VM was stopped because the run was aborted', options);
  }
}

/** The image's platform is one this host cannot run (guests are x86_64 Linux on an x86_64 host). */
export class PlatformNotRunnableError extends VmError {
  constructor(platform: string, host: string) {
    super('VM_PLATFORM_NOT_RUNNABLE', `platform ${platform} cannot run on this host: it runs ${host} guests only, and other architectures are not emulated`);
  }
}

/** Options that contradict each other for a run of an image (e.g. no image cache with the pull policy `never`). */
export class RunImageOptionsError extends VmError {
  constructor(message: string) {
    super('VM_BAD_RUN_OPTIONS', message);
  }
}
