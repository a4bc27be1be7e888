import { reportError, warn, type CommandIo } from './output/command-io.js';
import { watchInterrupts } from './command-line/interrupt.js';
import { pullOptionsFrom } from './pull/library-pull-options.js';
import type { PullResult as PulledImage } from '@broodbox/image';
import { warnPull } from './pull/pull-report.js';
import { launchVm } from './run-launch.js';
import { parseRunRequest, type RunFlags } from './run-request.js';
import { resolveSettings } from './config/settings.js';

/** `bbox run`'s options, however they were parsed. */
export interface RunArgs extends RunFlags {
  pull: string | undefined;
  noRegistryCache: boolean;
  config: string | undefined;
  cacheDir: string | undefined;
}

/** `bbox run`: pulls the image under the pull policy, boots it, runs the command; resolves with its exit code. */
export async function runRun(args: RunArgs, io: CommandIo): Promise<number> {
  try {
    const settings = await resolveSettings(
      { pull: args.pull, noRegistryCache: args.noRegistryCache || undefined, config: args.config, cacheDir: args.cacheDir },
      { cwd: io.cwd, env: io.env },
    );
    const request = parseRunRequest(args, settings.vm, { cwd: io.cwd, env: io.env });
    const lib = await import('@broodbox/image');
    const cache = new lib.Cache(settings.cacheDir?.value);
    const interrupt = watchInterrupts();
    try {
      const pullOptions = pullOptionsFrom(settings, cache, interrupt.signal);
      const image: PulledImage = await lib.pullWithFetcher(request.ref, pullOptions);
      const kernelImage = request.kernelImage ? await lib.pullWithFetcher(request.kernelImage, pullOptions) : undefined;
      // As `bbox pull` does: what the pull could not apply is said before the VM's output starts.
      warnPull(io, image);
      if (kernelImage) warnPull(io, kernelImage);
      const exitCode = await launchVm({ request, image, cache, signal: interrupt.signal, kernelImageRootfs: kernelImage?.path });
      // `background`: the refresh ran beside the VM; let it finish so the next run finds it.
      const refreshed = await image.refresh;
      if (refreshed && !refreshed.ok) warn(io, `background refresh of ${image.ref} failed, the cached image was kept: ${refreshed.error?.message ?? 'unknown error'}`);
      return exitCode;
    } catch (err) {
      return reportError(io, interrupt.explain(err));
    } finally {
      interrupt.dispose();
    }
  } catch (err) {
    return reportError(io, err);
  }
}
