/**
 * SIGINT and SIGTERM during `bbox run`: the first is passed on to the command in the guest (when
 * it runs; before that, it stops the VM); a second stops the VM; a third, while the VM is being
 * stopped, exits at once. Either way bbox's exit code for a stopped VM is 128+N of the signal.
 */
import { constants } from 'node:os';
import { CliError } from '../output/errors.js';
import type { ExitCodeValue } from '../output/exit-codes.js';

const HANDLED = ['SIGINT', 'SIGTERM'] as const;

/** Where signals go: the command's control handle, and the VM's stop switch. */
export interface SignalTargets {
  /** Passes signal number `signo` to the command; false when it is not running. */
  forward(signo: number): boolean;
}

export interface SignalRelay {
  /** Aborted when a signal stops the VM. */
  signal: AbortSignal;
  /** After the VM was stopped by a signal: the error that gives 128+N; otherwise `err` unchanged. */
  explain(err: unknown): unknown;
  dispose(): void;
}

export function relaySignals(targets: SignalTargets): SignalRelay {
  const controller = new AbortController();
  let forwarded = false;
  let stoppedBy: number | undefined;
  const handlers = HANDLED.map((name) => {
    const signo = constants.signals[name];
    const handler = () => {
      // The VM is being stopped and yet another signal comes: the user wants out now.
      if (stoppedBy !== undefined) process.exit(128 + stoppedBy);
      if (!forwarded && !controller.signal.aborted && targets.forward(signo)) {
        forwarded = true;
        return;
      }
      stoppedBy ??= signo;
      controller.abort(new Error(`interrupted by ${name}`));
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    explain: (err) =>
      stoppedBy === undefined ? err : new CliError('interrupted', { code: 'INTERRUPTED', exitCode: (128 + stoppedBy) as ExitCodeValue }),
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
