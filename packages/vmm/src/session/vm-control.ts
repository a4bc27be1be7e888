/**
 * A handle on a running VM's program for its caller: forward a signal, resize the terminal. Made
 * by the caller before the run and handed to `runVm` (or made by `startImage`), so it can be wired
 * to signal handlers before the machine exists; requests made before the channels are open wait.
 */
import type { HostChannels } from './channels.js';
import type { WindowSize } from '../guest/guest-init.js';

export class VmControl {
  private channels: HostChannels | undefined;
  private size: WindowSize | undefined;
  private ended = false;

  /** True once the guest reported that the program started (signals then reach it). */
  get started(): boolean {
    return this.channels?.status.started ?? false;
  }

  /**
   * Sends signal number `signo` (e.g. 15 for SIGTERM) to the program in the guest. Returns false,
   * and sends nothing, when the program has not started yet or has ended: the caller then decides
   * (for example stops the VM).
   */
  signal(signo: number): boolean {
    if (this.ended || !this.channels || !this.started) return false;
    this.channels.signal(signo);
    return true;
  }

  /** Sets the terminal's size (the program gets SIGWINCH). Without a terminal it does nothing. */
  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (!this.ended) this.channels?.resize(this.size);
  }

  /** @internal Called by runVm when the channels are open. */
  attach(channels: HostChannels): void {
    this.channels = channels;
    if (this.size) channels.resize(this.size);
  }

  /** @internal The size last asked for, if any (it wins over the one given at start). */
  lastSize(): WindowSize | undefined {
    return this.size;
  }

  /** @internal Called by runVm when the VM has stopped. */
  detach(): void {
    this.ended = true;
    this.channels = undefined;
  }
}
